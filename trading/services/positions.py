"""Position bookkeeping shared by fills, price moves and position sync."""

from decimal import Decimal

from trading import signals
from trading.domain import Holding, Marks, marks_for
from trading.enums import StreamChannel
from trading.models import BrokerAccount, Instrument, Position
from trading.services.common import CAUSE_TRADE, emit
from trading.services.row_writes import row_insert, row_update

# What position_store sets on a position it keeps: its holding, its price and its marks.
POSITION_STORED_FIELDS = (
    "qty",
    "avg_entry_price",
    "lastday_price",
    "current_price",
    *Marks.__dataclass_fields__,
    "updated_at",
)


def _prev_close(symbol: str) -> Decimal | None:
    return Instrument.objects.filter(symbol=symbol).values_list("prev_close", flat=True).first()


def position_mark(position: Position, current_price: Decimal, prev_close: Decimal | None) -> None:
    """Set the price and every derived value of a position (no save)."""
    holding = Holding(position.qty, position.avg_entry_price, position.lastday_price)
    marks = marks_for(holding, current_price, prev_close)
    position.current_price = current_price
    for field, value in vars(marks).items():
        setattr(position, field, value)


def position_write(
    account: BrokerAccount,
    symbol: str,
    holding: Holding | None,
    current_price: Decimal,
    *,
    cause: str = CAUSE_TRADE,
) -> Position:
    """Store the holding (None closes it), marked at `current_price`, and signal the change."""
    position = Position.objects.filter(account=account, symbol=symbol).first()
    position = position_store(
        account, symbol, position, holding, current_price, _prev_close(symbol)
    )
    emit(account, StreamChannel.POSITIONS, signals.position_changed, position=position, cause=cause)
    return position


def position_store(
    account: BrokerAccount,
    symbol: str,
    position: Position | None,
    holding: Holding | None,
    current_price: Decimal,
    prev_close: Decimal | None,
) -> Position:
    """Write the holding over `position` (the row as read, or None): no signal."""
    if holding is None:
        if position is None:
            raise ValueError(f"no position in {symbol} to close")
        position.delete()
        position.qty = Decimal("0")
        position.market_value = position.cost_basis = Decimal("0")
        position.unrealized_pl = position.unrealized_intraday_pl = Decimal("0")
    else:
        position = position or Position(account=account, symbol=symbol)
        position.qty = holding.qty
        position.avg_entry_price = holding.avg_entry_price
        position.lastday_price = holding.lastday_price
        position_mark(position, current_price, prev_close)
        if position.pk is None:
            row_insert(position)
        else:
            row_update(position, POSITION_STORED_FIELDS)
    return position
