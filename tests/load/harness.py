"""Plumbing shared by the load benchmarks: a throwaway database, users, sessions, a server,
and readings of a process's memory and CPU. Not a test module (pytest collects test_*.py).

Every benchmark process (the orchestrator that holds the sockets, the tick driver) points
Django at the same throwaway SQLite file under var/bench/ and at the same channel-layer
prefix as the server it starts, so events travel through Redis exactly as in production
and never reach another run's servers.
"""

import contextlib
import math
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO_ROOT / "var" / "bench"
SYMBOLS = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA")
# The pragmas and transaction mode of the embedded SQLite database (settings.py): a writer
# in another process queues on the lock instead of failing.
_SQLITE_OPTIONS = "transaction_mode=IMMEDIATE&timeout=30&init_command=" + quote(
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", safe=""
)


def ensure_repo_on_path() -> None:
    """Let `python tests/load/bench_x.py` import the project like `python -m` does."""
    root = str(REPO_ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}?{_SQLITE_OPTIONS}"


def new_run_dir(name: str) -> Path:
    run = BENCH_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    run.mkdir(parents=True, exist_ok=True)
    return run


def unique_prefix() -> str:
    return f"bench{os.getpid()}x{uuid.uuid4().hex[:8]}"


def setup_django(
    *, db_path: Path, redis_url: str, prefix: str, database_url: str | None = None
) -> None:
    """Configure this process exactly like the server it talks to (same DB, Redis, prefix).

    The database is the SQLite file `db_path` unless `database_url` names another.
    """
    os.chdir(REPO_ROOT)
    os.environ["DATABASE_URL"] = database_url or sqlite_url(db_path)
    os.environ["REDIS_URL"] = redis_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portfolio_stream.settings"
    os.environ["DJANGO_DEBUG"] = "1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALPACA_DATA_API_KEY"] = ""
    os.environ["ALPACA_DATA_SECRET_KEY"] = ""
    import django
    from django.conf import settings

    # Before anything builds the channel layer or the cache (as tests.integration.live_server).
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    layer.setdefault("CONFIG", {})["prefix"] = prefix
    cache: dict[str, Any] = settings.CACHES["default"]
    cache["KEY_PREFIX"] = prefix
    django.setup()


def postgres_server_url() -> str:
    """DATABASE_URL when it names PostgreSQL, else the local server the test suite uses."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    return "postgres://postgres@127.0.0.1:5432/postgres"  # as scripts/ensure_postgres.sh


def postgres_database_create(server_url: str, name: str) -> str:
    """Create the empty database `name` on that server; returns its URL."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def postgres_database_drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        # FORCE: a killed server's pooled connections may linger for a moment.
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate() -> float:
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    return time.monotonic() - started


@contextlib.contextmanager
def stream_muted() -> Iterator[None]:
    """Seed without publishing: nobody listens yet, and thousands of events would only
    load Redis and the other engineers' test runs on it."""
    from realtime import receivers
    from trading import signals

    wiring = [
        (signals.order_updated, "realtime.order_updated"),
        (signals.trade_executed, "realtime.trade_executed"),
        (signals.position_changed, "realtime.position"),
        (signals.account_changed, "realtime.account"),
        (signals.prices_marked, "realtime.prices_marked"),
    ]
    for signal, uid in wiring:
        signal.disconnect(dispatch_uid=uid)
    try:
        yield
    finally:
        receivers.connect()


def seed_traders(
    count: int,
    *,
    symbols: Sequence[str] = SYMBOLS,
    qty: str = "10",
    password: str = "bench-pw-1",
    cash: str = "1000000.00",
    name: str = "bench",
) -> list[dict[str, Any]]:
    """`count` users, each with a simulated account holding `qty` of every symbol.

    Positions are booked through the venue and the fill path (as the demo data is), all in
    one transaction, with the stream muted. Returns [{user_id, account_id, username}].
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from trading.broker.simulated.seeding import venue_book_filled_order
    from trading.models import Instrument
    from trading.services.accounts import account_open_simulated
    from trading.services.fills import trade_update_apply

    user_model = get_user_model()
    hashed = make_password(password)  # once: hashing per user would take minutes
    prices = {
        symbol: price or Decimal(100)
        for symbol, price in Instrument.objects.filter(symbol__in=symbols).values_list(
            "symbol", "price"
        )
    }
    traders = []
    with stream_muted(), transaction.atomic():
        for index in range(count):
            username = f"{name}{index:04d}"
            user = user_model.objects.create(username=username, password=hashed)
            account = account_open_simulated(user=user, cash=Decimal(cash))
            for symbol in symbols:
                venue_book_filled_order(
                    account_id=account.pk,
                    symbol=symbol,
                    side="buy",
                    qty=Decimal(qty),
                    price=prices[symbol],
                    sink=trade_update_apply,
                )
            traders.append({"user_id": user.pk, "account_id": account.pk, "username": username})
    return traders


def mint_sessions(traders: list[dict[str, Any]]) -> None:
    """A session cookie per trader, as a login would leave it (Client.force_login)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    users = get_user_model().objects.in_bulk([t["user_id"] for t in traders])
    for trader in traders:
        client = Client()
        client.force_login(users[trader["user_id"]])
        trader["sessionid"] = client.cookies[settings.SESSION_COOKIE_NAME].value


# --- Processes -----------------------------------------------------------------------------


def clock_ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / clock_ticks()


def process_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    return (total - idle) / clock_ticks(), total / clock_ticks()


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class CpuWindow:
    """CPU used by some processes and by the whole machine between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.result: dict[str, Any] = {}

    def start(self) -> "CpuWindow":
        self._wall = time.monotonic()
        self._machine = machine_cpu()
        self._procs = {name: process_cpu_seconds(pid) for name, pid in self.pids.items()}
        self._load = loadavg()
        return self

    def stop(self, extra_cpu_seconds: dict[str, float] | None = None) -> dict[str, Any]:
        """Percent of one core per process; `extra_cpu_seconds` for processes already gone."""
        wall = time.monotonic() - self._wall
        busy, total = machine_cpu()
        cores = os.cpu_count() or 1
        ours = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                ours[name] = process_cpu_seconds(pid) - self._procs[name]
        ours.update(extra_cpu_seconds or {})
        machine_busy = busy - self._machine[0]
        machine_total = total - self._machine[1]
        self.result = {
            "wall_s": round(wall, 2),
            "cpu_pct_of_one_core": {k: round(100 * v / wall, 1) for k, v in ours.items()},
            "machine_busy_pct_of_all_cores": round(100 * machine_busy / machine_total, 1),
            "others_cores_busy": round(
                max(0.0, machine_busy / machine_total * cores - sum(ours.values()) / wall), 2
            ),
            "loadavg_before": self._load,
            "loadavg_after": loadavg(),
        }
        return self.result


class CpuSampler:
    """Samples the CPU of some processes and of the machine every `interval` seconds, so a
    window known only afterwards (a driver's ticking time) can be measured."""

    def __init__(self, pids: dict[str, int], interval: float = 0.5) -> None:
        self.pids = pids
        self.interval = interval
        self.samples: list[tuple[float, dict[str, float], tuple[float, float]]] = []

    def sample(self) -> None:
        procs = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                procs[name] = process_cpu_seconds(pid)
        self.samples.append((time.time(), procs, machine_cpu()))

    async def run(self) -> None:
        import asyncio

        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def window(self, start: float, end: float) -> dict[str, Any]:
        """Percent of one core per process, and the other processes' cores, in [start, end]."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {}
        (t0, p0, m0), (t1, p1, m1) = inside[0], inside[-1]
        wall = t1 - t0
        cores = os.cpu_count() or 1
        ours = {k: p1[k] - p0[k] for k in p1 if k in p0}
        machine = (m1[0] - m0[0]) / max(1e-9, m1[1] - m0[1])
        return {
            "wall_s": round(wall, 2),
            "cpu_pct_of_one_core": {k: round(100 * v / wall, 1) for k, v in ours.items()},
            "machine_busy_pct_of_all_cores": round(100 * machine, 1),
            "machine_busy_cores": round(machine * cores, 2),
        }


def run_python(args: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """A helper process of the benchmark (the tick driver), logging to a file."""
    log = log_path.open("wb")
    return subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


# --- Metrics -------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$")


def parse_prometheus(text: str) -> dict[str, float]:
    """`name{labels}` -> value, for every sample of a Prometheus text exposition."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match:
            samples[match[1] + (match[2] or "")] = float(match[3])
    return samples


def scrape_metrics(base_url: str) -> dict[str, float]:
    import httpx

    response = httpx.get(f"{base_url}/metrics", timeout=10, trust_env=False)
    response.raise_for_status()
    return parse_prometheus(response.text)


def histogram_quantiles(
    before: dict[str, float], after: dict[str, float], name: str, quantiles: Sequence[float]
) -> dict[str, Any]:
    """Quantiles of a Prometheus histogram's growth between two scrapes (bucket upper bounds)."""
    buckets = []
    for key, value in after.items():
        if key.startswith(f"{name}_bucket{{"):
            le = re.search(r'le="([^"]+)"', key)
            assert le
            bound = math.inf if le[1] == "+Inf" else float(le[1])
            buckets.append((bound, value - before.get(key, 0.0)))
    buckets.sort()
    count = buckets[-1][1] if buckets else 0.0
    result: dict[str, Any] = {"count": int(count)}
    for q in quantiles:
        target = q * count
        bound = next((b for b, c in buckets if c >= target), math.inf)
        result[f"p{round(q * 100)}_le_s"] = bound if count else None
    return result


def percentiles(values: Sequence[float], scale: float = 1000.0) -> dict[str, Any]:
    """count, p50/p95/p99/max (times `scale`: seconds -> ms by default)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale, 1)

    return {
        "count": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1] * scale, 1),
        "mean": round(statistics.fmean(ordered) * scale, 1),
    }
