"""Recording intraday equity: every account's equity once a minute, kept for a week."""

from datetime import datetime, timedelta

from trading.models import BrokerAccount, EquityPoint

RETENTION = timedelta(days=7)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def equity_history_record(*, now: datetime) -> int:
    """Sample every account's equity into `now`'s minute (the latest sample of a minute wins);
    returns the accounts sampled. A few hundred rows a minute in two statements."""
    minute = minute_of(now)
    points = [
        EquityPoint(account_id=pk, at=minute, equity=equity)
        for pk, equity in BrokerAccount.objects.values_list("pk", "equity")
    ]
    EquityPoint.objects.bulk_create(
        points,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["account", "at"],
        update_fields=["equity"],
    )
    EquityPoint.objects.filter(at__lt=minute - RETENTION).delete()
    return len(points)


class EquityRecorder:
    """Calls `equity_history_record` once per minute from a loop that ticks more often."""

    def __init__(self) -> None:
        self.last_minute: datetime | None = None

    def tick(self, now: datetime) -> bool:
        minute = minute_of(now)
        if minute == self.last_minute:
            return False
        equity_history_record(now=now)
        self.last_minute = minute
        return True
