"""Alpaca trade streams hosted in-process against the fake: fills, duplicates, drops, keys.

The host runs on its own thread and loop exactly as in `serve`; the worker runs in the
test's thread. Rows are committed (transaction=True) so the host's threads see them.
"""

import time
from decimal import Decimal

import pytest

from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    broker_host_fixture,
    fake_alpaca_fixture,
    link_alpaca_account,
    wait_until,
)
from trading import signals
from trading.broker.alpaca import stream as stream_module
from trading.enums import OrderStatus
from trading.models import BrokerAccount, Fill, Order, Position
from trading.services.credentials import broker_link, broker_unlink
from trading.services.orders import order_submit

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def submit(account, symbol="AAPL", qty="10", side="buy") -> Order:
    return order_submit(account=account, symbol=symbol, side=side, qty=Decimal(qty), type="market")


def status_of(account) -> str:
    return BrokerAccount.objects.get(pk=account.pk).broker_status


def connected(fake, account):
    wait_until(lambda: status_of(account) == "connected", what="connected stream")
    wait_until(lambda: fake.trade_listeners(KEY_ID) == 1, what="listening socket")


def order_of(order) -> Order:
    return Order.objects.get(pk=order.pk)


def assert_books_match_the_fake(fake, account):
    ours = {p.symbol: (p.qty, p.avg_entry_price) for p in Position.objects.filter(account=account)}
    assert ours == fake.positions(KEY_ID)
    assert BrokerAccount.objects.get(pk=account.pk).cash == fake.account(KEY_ID).cash
    for order in Order.objects.filter(account=account):
        theirs = fake.order(KEY_ID, order.client_order_id)
        booked = sum((f.qty for f in Fill.objects.filter(order=order)), Decimal("0"))
        assert booked == order.filled_qty == Decimal(theirs["filled_qty"]), order


def test_a_fill_at_alpaca_reaches_the_order_the_position_and_the_cash(
    fake_alpaca, broker_host, work_queue
):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)

    order = submit(account)
    work_queue()

    wait_until(lambda: order_of(order).status == OrderStatus.FILLED, what="filled order")
    fill = Fill.objects.get(order=order)
    sent = fake_alpaca.streams.last_fill[KEY_ID]
    assert fill.execution_id == sent["execution_id"]
    assert (fill.qty, fill.price) == (Decimal("10"), Decimal("200"))
    wait_until(
        lambda: BrokerAccount.objects.get(pk=account.pk).cash == Decimal("98000.00"),
        what="cash after the fill",
    )
    assert_books_match_the_fake(fake_alpaca, account)


def test_a_repeated_execution_id_is_booked_once(fake_alpaca, broker_host, work_queue):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)
    first = submit(account)
    work_queue()
    wait_until(lambda: order_of(first).status == OrderStatus.FILLED, what="first fill")

    fake_alpaca.replay_last_fill(KEY_ID)
    second = submit(account, qty="1")  # a later event proves the duplicate was processed
    work_queue()

    wait_until(lambda: order_of(second).status == OrderStatus.FILLED, what="second fill")
    assert Fill.objects.filter(order=first).count() == 1
    assert Position.objects.get(account=account, symbol="AAPL").qty == Decimal("11")
    assert_books_match_the_fake(fake_alpaca, account)


def test_fills_missed_while_the_stream_was_down_are_booked_exactly_once_on_resync(
    fake_alpaca, broker_host, work_queue
):
    account = link_alpaca_account(fake_alpaca, auto_fill=False)
    broker_host.start()
    connected(fake_alpaca, account)
    aapl, msft = submit(account, "AAPL", "10"), submit(account, "MSFT", "4")
    work_queue()
    fake_alpaca.fill(KEY_ID, aapl.client_order_id, qty="4", price="199.50")
    wait_until(lambda: order_of(aapl).filled_qty == 4, what="first partial fill")

    with fake_alpaca.trade_stream_down(KEY_ID):
        wait_until(lambda: status_of(account) == "reconnecting", what="reconnecting status")
        fake_alpaca.fill(KEY_ID, aapl.client_order_id, qty="6", price="200.25")
        fake_alpaca.fill(KEY_ID, msft.client_order_id, qty="1", price="401")
        fake_alpaca.fill(KEY_ID, msft.client_order_id, qty="1", price="402")
    connected(fake_alpaca, account)

    wait_until(lambda: order_of(msft).filled_qty == 2, what="missed MSFT fills")
    assert order_of(aapl).status == OrderStatus.FILLED
    assert order_of(aapl).filled_avg_price == Decimal("199.95")
    assert order_of(msft).status == OrderStatus.PARTIALLY_FILLED
    assert order_of(msft).filled_avg_price == Decimal("401.5")
    assert_books_match_the_fake(fake_alpaca, account)

    # Live again: the rest of MSFT arrives on the stream and is booked on top, once.
    fake_alpaca.fill(KEY_ID, msft.client_order_id, qty="2", price="403")
    wait_until(lambda: order_of(msft).status == OrderStatus.FILLED, what="live MSFT fill")
    assert_books_match_the_fake(fake_alpaca, account)


def test_a_reconnect_with_nothing_missed_signals_nothing(fake_alpaca, broker_host, work_queue):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)
    order = submit(account)
    work_queue()
    wait_until(lambda: order_of(order).status == OrderStatus.FILLED, what="fill")
    resyncs = len(fake_alpaca.requests("GET", "/v2/account"))
    wait_until(lambda: len(fake_alpaca.requests("GET", "/v2/account")) > resyncs - 1, what="settle")
    heard: list[str] = []

    def collect(signal_name):
        return lambda **kw: heard.append(signal_name)

    receivers = {
        name: collect(name)
        for name in ("order_updated", "trade_executed", "position_changed", "account_changed")
    }
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver, weak=False)
    try:
        before = len(fake_alpaca.requests("GET", "/v2/account"))
        fake_alpaca.drop_trade_streams(KEY_ID)
        wait_until(lambda: len(fake_alpaca.requests("GET", "/v2/account")) > before, what="resync")
        connected(fake_alpaca, account)
    finally:
        for name, receiver in receivers.items():
            getattr(signals, name).disconnect(receiver)
    assert heard == []


def test_refused_keys_are_reported_and_not_retried_until_linked_again(fake_alpaca, broker_host):
    account = link_alpaca_account(fake_alpaca)
    fake_alpaca.account(KEY_ID).secret_key = "rotated-at-alpaca"
    broker_host.start()

    wait_until(lambda: status_of(account) == "auth_failed", what="auth_failed status")
    error = BrokerAccount.objects.get(pk=account.pk).broker_error
    assert "Alpaca refused the API keys" in error
    attempts = fake_alpaca.streams.trade_auth_failures
    assert attempts == stream_module.MAX_AUTH_FAILURES
    time.sleep(1.5)  # the SDK alone would retry with backoff, forever
    assert fake_alpaca.streams.trade_auth_failures == attempts

    broker_link(
        user=account.user,
        provider="alpaca",
        key_id=KEY_ID,
        secret_key="rotated-at-alpaca",
    )
    connected(fake_alpaca, account)
    assert BrokerAccount.objects.get(pk=account.pk).broker_error == ""


def test_unlinking_stops_the_stream(fake_alpaca, broker_host):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)

    broker_unlink(user=account.user)

    wait_until(lambda: fake_alpaca.trade_listeners(KEY_ID) == 0, what="closed socket")


def test_a_handshake_that_never_answers_times_out_and_is_retried(
    fake_alpaca, broker_host, monkeypatch
):
    monkeypatch.setattr(stream_module, "HANDSHAKE_TIMEOUT_SECONDS", 0.3)
    account = link_alpaca_account(fake_alpaca)
    fake_alpaca.set_hang_auth(True)
    broker_host.start()
    time.sleep(0.5)
    fake_alpaca.set_hang_auth(False)

    connected(fake_alpaca, account)


def test_stop_is_prompt_even_during_a_hung_handshake(fake_alpaca, broker_host):
    link_alpaca_account(fake_alpaca)
    fake_alpaca.set_hang_auth(True)
    broker_host.start()
    time.sleep(0.5)

    assert broker_host.stop() < 3.0


def test_stop_of_a_connected_stream_is_prompt(fake_alpaca, broker_host):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)

    assert broker_host.stop() < 2.0
    assert status_of(account) == "stopped"


def test_bad_events_and_failing_receivers_do_not_stop_the_stream(
    fake_alpaca, broker_host, work_queue
):
    account = link_alpaca_account(fake_alpaca)
    broker_host.start()
    connected(fake_alpaca, account)

    def broken_receiver(**_):
        raise RuntimeError("a receiver blew up")

    signals.trade_executed.connect(broken_receiver, weak=False)
    try:
        fake_alpaca.send_raw_update(KEY_ID, {"event": "fill", "timestamp": "soon"})
        first = submit(account, qty="1")
        work_queue()
        wait_until(lambda: order_of(first).status == OrderStatus.FILLED, what="first fill")
        second = submit(account, qty="2")
        work_queue()
        wait_until(lambda: order_of(second).status == OrderStatus.FILLED, what="second fill")
    finally:
        signals.trade_executed.disconnect(broken_receiver)
    assert_books_match_the_fake(fake_alpaca, account)
