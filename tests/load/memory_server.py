"""`manage.py serve` for bench_memory: the run's prefix, and a memory dump on SIGUSR2.

    python tests/load/memory_server.py --prefix P --dump-dir D [--tracemalloc F] \
        [--root CHECKOUT] -- serve --port N --no-market   (or: -- daphne -p N)

Only the standard library and Django are imported before manage.py's main() runs the
command, so the RSS is a plain `manage.py serve`'s (tests.integration.live_server's
launcher also loads httpx, redis and websockets, 10 MB the product never has). `--root`
serves another checkout of the project (an older revision, for a before/after), using this
interpreter.

On SIGUSR2 the process writes `D/dump-<n>.json`: its RSS, the live objects by type (count
and shallow bytes, from the garbage collector) and the asyncio tasks by coroutine; with
`--tracemalloc F` (tracing started before any import, F frames per allocation) also a
tracemalloc snapshot `D/dump-<n>.tracemalloc`. Then it writes `D/dump-<n>.done`.
"""

import argparse
import asyncio
import gc
import itertools
import json
import os
import runpy
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

_dumps = itertools.count()
WATCHED = ("daphne", "autobahn", "twisted", "channels", "realtime", "asyncio", "django")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _task_names() -> dict[str, int]:
    try:
        tasks = asyncio.all_tasks(asyncio.get_running_loop())
    except RuntimeError:  # the signal arrived outside the loop (at start or exit)
        return {}
    return dict(Counter(getattr(t.get_coro(), "__qualname__", "?") for t in tasks))


def dump(dump_dir: Path) -> Path:
    """Write the dump files; returns the .json path."""
    number = next(_dumps)
    # The snapshot first: the counting below allocates, and would be charged to the sockets.
    traced_kib = None
    if tracemalloc.is_tracing():
        traced_kib = tracemalloc.get_traced_memory()[0] // 1024
        tracemalloc.take_snapshot().dump(str(dump_dir / f"dump-{number}.tracemalloc"))
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    # Instance dicts of the connection's objects: [count, bytes, most attributes].
    attributes: dict[str, list[int]] = {}
    for obj in gc.get_objects():
        kind = type(obj)
        # A class may shadow __module__ or __qualname__ with a property.
        module = getattr(kind, "__module__", "?")
        module = module if isinstance(module, str) else "?"
        qualname = getattr(kind, "__qualname__", kind.__name__)
        name = f"{module}.{qualname if isinstance(qualname, str) else kind.__name__}"
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
        if module.startswith(WATCHED) and isinstance(state := getattr(obj, "__dict__", None), dict):
            entry = attributes.setdefault(name, [0, 0, 0])
            entry[0] += 1
            entry[1] += sys.getsizeof(state)
            entry[2] = max(entry[2], len(state))
    report: dict[str, Any] = {
        "rss_kib": rss_kib(),
        "objects": {name: [counts[name], sizes[name]] for name in counts},
        "tasks": _task_names(),
        "instance_dicts": attributes,
        "threads": len(os.listdir("/proc/self/task")),
        "traced_kib": traced_kib,
    }
    path = dump_dir / f"dump-{number}.json"
    path.write_text(json.dumps(report))
    (dump_dir / f"dump-{number}.done").touch()
    return path


def main(argv: list[str]) -> None:
    split = argv.index("--")
    parser = argparse.ArgumentParser(prog="memory_server")
    parser.add_argument("--prefix", required=True, help="channel-layer and cache key prefix")
    parser.add_argument("--dump-dir", required=True, type=Path)
    parser.add_argument("--tracemalloc", type=int, default=0, help="frames per allocation")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    options = parser.parse_args(argv[:split])
    if options.tracemalloc:
        tracemalloc.start(options.tracemalloc)
    root = options.root.resolve()
    os.chdir(root)
    sys.path.insert(0, str(root))

    def on_signal(signum: int, frame: FrameType | None) -> None:
        dump(options.dump_dir)

    signal.signal(signal.SIGUSR2, on_signal)
    from django.conf import settings

    # Before anything builds the channel layer or the cache (as live_server does).
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    layer.setdefault("CONFIG", {})["prefix"] = options.prefix
    for cache in settings.CACHES.values():
        cache["KEY_PREFIX"] = options.prefix
    settings.STATS_REDIS_PREFIX = f"{options.prefix}:stats:"
    command = argv[split + 1 :]
    if command[:1] == ["daphne"]:
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run([*command[1:], "portfolio_stream.asgi:application"])
    else:
        # manage.py's own main(): what it does before Django's setup counts too.
        sys.argv = [str(root / "manage.py"), *command]
        runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
