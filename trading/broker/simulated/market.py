"""The simulated symbol universe and its seeded random-walk price feed."""

import math
import random
from dataclasses import dataclass
from decimal import Decimal

from trading.money import to_money

# (symbol, name, exchange, starting price in USD): large US stocks near late-2026 levels.
UNIVERSE: tuple[tuple[str, str, str, str], ...] = (
    ("AAPL", "Apple Inc.", "NASDAQ", "228.50"),
    ("MSFT", "Microsoft Corporation", "NASDAQ", "431.20"),
    ("GOOGL", "Alphabet Inc. Class A", "NASDAQ", "176.40"),
    ("AMZN", "Amazon.com, Inc.", "NASDAQ", "197.90"),
    ("NVDA", "NVIDIA Corporation", "NASDAQ", "138.60"),
    ("META", "Meta Platforms, Inc.", "NASDAQ", "562.70"),
    ("TSLA", "Tesla, Inc.", "NASDAQ", "252.30"),
    ("BRK.B", "Berkshire Hathaway Inc. Class B", "NYSE", "468.10"),
    ("JPM", "JPMorgan Chase & Co.", "NYSE", "238.20"),
    ("V", "Visa Inc.", "NYSE", "309.40"),
    ("JNJ", "Johnson & Johnson", "NYSE", "155.80"),
    ("WMT", "Walmart Inc.", "NYSE", "88.70"),
    ("PG", "The Procter & Gamble Company", "NYSE", "172.30"),
    ("MA", "Mastercard Incorporated", "NYSE", "521.60"),
    ("UNH", "UnitedHealth Group Incorporated", "NYSE", "589.10"),
    ("HD", "The Home Depot, Inc.", "NYSE", "409.80"),
    ("XOM", "Exxon Mobil Corporation", "NYSE", "119.40"),
    ("KO", "The Coca-Cola Company", "NYSE", "63.90"),
    ("PEP", "PepsiCo, Inc.", "NASDAQ", "158.20"),
    ("COST", "Costco Wholesale Corporation", "NASDAQ", "912.30"),
    ("AVGO", "Broadcom Inc.", "NASDAQ", "171.50"),
    ("ORCL", "Oracle Corporation", "NYSE", "188.90"),
    ("ADBE", "Adobe Inc.", "NASDAQ", "497.60"),
    ("CRM", "Salesforce, Inc.", "NYSE", "331.20"),
    ("NFLX", "Netflix, Inc.", "NASDAQ", "871.40"),
    ("AMD", "Advanced Micro Devices, Inc.", "NASDAQ", "137.80"),
    ("INTC", "Intel Corporation", "NASDAQ", "24.10"),
    ("DIS", "The Walt Disney Company", "NYSE", "114.60"),
    ("BAC", "Bank of America Corporation", "NYSE", "46.30"),
    ("SPY", "SPDR S&P 500 ETF Trust", "NYSEARCA", "598.70"),
)

# About 30 % annualised volatility spread over the ticks of a 6.5-hour session at 1 tick/s.
DEFAULT_TICK_VOLATILITY = 0.30 / math.sqrt(252 * 6.5 * 3600)
MIN_PRICE = Decimal("0.01")


@dataclass(frozen=True)
class PriceTick:
    symbol: str
    price: Decimal


class RandomWalkFeed:
    """Geometric random walk per symbol; the same seed and start prices give the same ticks."""

    def __init__(
        self,
        start_prices: dict[str, Decimal],
        *,
        seed: int,
        move_probability: float = 0.4,
        tick_volatility: float = DEFAULT_TICK_VOLATILITY * 8,
    ) -> None:
        self._prices = dict(sorted(start_prices.items()))
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not secrets
        self._move_probability = move_probability
        self._tick_volatility = tick_volatility

    @property
    def prices(self) -> dict[str, Decimal]:
        return dict(self._prices)

    def rebase(self, prices: dict[str, Decimal]) -> None:
        """Continue from these prices (moved outside the walk, e.g. by an operator's nudge)."""
        for symbol, price in prices.items():
            if symbol in self._prices:
                self._prices[symbol] = price

    def next_ticks(self) -> list[PriceTick]:
        """Move a random subset of symbols by one step; unchanged prices are not reported."""
        ticks = []
        for symbol, price in self._prices.items():
            if self._rng.random() >= self._move_probability:
                continue
            step = math.exp(self._rng.gauss(0.0, self._tick_volatility))
            new_price = max(to_money(price * Decimal(str(step))), MIN_PRICE)
            if new_price != price:
                self._prices[symbol] = new_price
                ticks.append(PriceTick(symbol, new_price))
        return ticks
