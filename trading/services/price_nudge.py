"""An operator's price nudge: move a simulated price now, as if the market had ticked there."""

from decimal import Decimal

from django.utils import timezone

from trading.broker.simulated.market import MIN_PRICE
from trading.models import Instrument
from trading.money import to_money
from trading.services.common import DomainError
from trading.services.prices import price_apply
from trading.services.venue_matching import venue_match

# A nudge is for watching a page react, not for crashing the market.
MAX_NUDGE_PERCENT = Decimal("50")


def price_nudge(*, symbol: str, percent: Decimal) -> Decimal:
    """Move `symbol` by `percent` (-50 to 50); marks holders and works resting orders.

    The simulated market continues from the stored price at its next tick, so the nudge sticks.
    """
    if not percent.is_finite() or abs(percent) > MAX_NUDGE_PERCENT or percent == 0:
        raise DomainError("Nudge by a non-zero percent between -50 and 50.", field="percent")
    instrument = Instrument.objects.filter(symbol=symbol.strip().upper(), tradable=True).first()
    if instrument is None or instrument.price is None:
        raise DomainError(f"No tradable symbol {symbol!r} with a price.", field="symbol")
    price = max(to_money(instrument.price * (1 + percent / 100)), MIN_PRICE)
    price_apply(symbol=instrument.symbol, price=price, at=timezone.now())
    venue_match(instrument.symbol, price)
    return price
