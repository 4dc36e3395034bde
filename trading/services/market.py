"""The simulated market loop: price ticks mark positions and work the venue's open orders."""

import logging
import threading
from datetime import date

from django.conf import settings
from django.utils import timezone

from trading.broker.simulated.market import RandomWalkFeed
from trading.enums import TERMINAL_ORDER_STATUSES
from trading.models import Instrument, SimulatedOrder
from trading.services.accounts import trading_day_today
from trading.services.common import connections_recycle
from trading.services.equity_history import EquityRecorder
from trading.services.gateways import simulated_max_fill_qty
from trading.services.prices import prices_apply, trading_day_roll
from trading.services.venue_matching import venue_match

logger = logging.getLogger(__name__)


def feed_from_instruments(*, seed: int) -> RandomWalkFeed:
    """A feed that continues from the stored prices, so a restart does not jump."""
    prices = dict(
        Instrument.objects.filter(tradable=True, price__isnull=False).values_list("symbol", "price")
    )
    return RandomWalkFeed({s: p for s, p in prices.items() if p is not None}, seed=seed)


class SimulatedMarket:
    """The feed plus the trading day it is in."""

    def __init__(self, feed: RandomWalkFeed) -> None:
        self.feed = feed
        self.trading_day: date | None = None


def market_tick(market: SimulatedMarket) -> int:
    """Advance the feed one step and apply every moved price; returns the number of ticks."""
    today = trading_day_today()
    if market.trading_day != today:
        trading_day_roll(today=today)
        market.trading_day = today
    # Prices moved outside the walk (an operator's nudge, another market process) win.
    stored = dict(
        Instrument.objects.filter(tradable=True, price__isnull=False).values_list("symbol", "price")
    )
    market.feed.rebase({s: p for s, p in stored.items() if p is not None})
    ticks = market.feed.next_ticks()
    now = timezone.now()
    # All of the tick's prices at once: an account holding ten moving symbols is locked,
    # balanced, written and sent an account update once per tick, not ten times.
    prices_apply(prices={tick.symbol: (tick.price, now) for tick in ticks})
    # Only symbols with orders resting at the venue: a locking transaction for each of 30
    # symbols found nothing most ticks. An order placed after this read waits one tick.
    resting = set(
        SimulatedOrder.objects.filter(symbol__in=[tick.symbol for tick in ticks])
        .exclude(status__in=TERMINAL_ORDER_STATUSES)
        .values_list("symbol", flat=True)
        .distinct()
    )
    max_fill_qty = simulated_max_fill_qty()
    for tick in ticks:
        if tick.symbol in resting:
            venue_match(tick.symbol, tick.price, max_fill_qty=max_fill_qty)
    return len(ticks)


def run_market(*, stop: threading.Event, interval_seconds: float | None = None) -> None:
    """Tick the simulated market until `stop` is set; errors are logged, never fatal."""
    interval = interval_seconds or settings.SIMULATED_TICK_INTERVAL_SECONDS
    market = SimulatedMarket(feed_from_instruments(seed=settings.SIMULATED_MARKET_SEED))
    logger.info(
        "simulated market: %d symbols, a tick every %.2fs", len(market.feed.prices), interval
    )
    recorder = EquityRecorder()
    while not stop.wait(interval):
        try:
            connections_recycle()
            market_tick(market)
            recorder.tick(timezone.now())
        except Exception:
            logger.exception("simulated market tick failed; continuing")
