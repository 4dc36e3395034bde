"""`prices_marked` unfolded into the per-change signals other causes send, for tests that log
every signal in order (price marks send one signal per committed batch)."""

from collections.abc import Callable
from typing import Any

from django.dispatch import Signal

from trading import signals

Log = Callable[[Signal, dict[str, Any]], None]


def unfold(kwargs: dict[str, Any]) -> list[tuple[Signal, dict[str, Any]]]:
    """A prices_marked send as the position_changed/account_changed sends it stands for."""
    unfolded: list[tuple[Signal, dict[str, Any]]] = []
    for item in kwargs["marked"]:
        account = item.account
        common = {
            "account_id": account.pk,
            "user_id": account.user_id,
            "at": kwargs["at"],
            "cause": kwargs["cause"],
        }
        for seq, position in item.positions:
            unfolded.append(
                (signals.position_changed, {**common, "seq": seq, "position": position})
            )
        if item.account_seq is not None:
            unfolded.append(
                (signals.account_changed, {**common, "seq": item.account_seq, "account": account})
            )
    return unfolded


def connect_unfolded(log: Log) -> Callable[..., None]:
    """Connect a prices_marked receiver that logs each mark as its own signal; returns it
    (disconnect it after the test)."""

    def receiver(sender: object, **kwargs: Any) -> None:
        for signal, unfolded in unfold(kwargs):
            log(signal, unfolded)

    signals.prices_marked.connect(receiver, weak=False)
    return receiver
