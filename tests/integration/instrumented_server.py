"""A real daphne (`manage.py serve` or the plain `daphne` command) that a test can look into.

The launcher sets the channel-layer and cache prefixes as tests.integration.live_server
does, can point the channel layer elsewhere (a dead port: Redis unavailable), can patch
constants and install test faults before serving, and answers probes: a thread that, when
the test drops a request file, reads the server's state on its event loop (the layer's
group and channel maps, tasks, live consumers, RSS, counters) into a JSON file.

    python -m tests.integration.instrumented_server --prefix P --probe-dir D \
        [--layer-url URL] [--patch module:NAME=value ...] [--setup module:function] \
        [--daphne] -- <serve arguments | daphne arguments>
"""

import argparse
import ast
import asyncio
import gc
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.integration.live_server import LiveServer, free_port
from tests.processes import MANAGE_PY, REPO_ROOT, Processes, child_env

PROBE_TIMEOUT_SECONDS = 20.0


class InstrumentedServer(LiveServer):
    def __init__(self, child: Any, port: int, probe_dir: Path) -> None:
        super().__init__(child, port)
        self.probe_dir = probe_dir
        self._probes = 0

    def probe(
        self, *, light: bool = False, timeout: float = PROBE_TIMEOUT_SECONDS
    ) -> dict[str, Any]:
        """The server's state now, read on its event loop (`light`: without the slow
        count of consumer objects, which runs the garbage collector)."""
        self._probes += 1
        name = f"probe-{self._probes}"
        response = self.probe_dir / f"{name}.json"
        (self.probe_dir / f"{name}.request").write_text("light" if light else "")
        deadline = time.monotonic() + timeout
        while not response.exists():
            if not self.child.alive():
                raise AssertionError(f"{self.child.name} exited:\n{self.child.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no probe answer within {timeout}s:\n{self.child.output()}")
            time.sleep(0.02)
        result: dict[str, Any] = json.loads(response.read_text())
        return result

    def metrics(self) -> str:
        with httpx.Client(trust_env=False, timeout=5) as client:
            return client.get(f"{self.base_url}/metrics").text


def start_instrumented(
    processes: Processes,
    name: str,
    *,
    redis_url: str,
    prefix: str,
    daphne: bool = False,
    layer_url: str | None = None,
    patches: Mapping[str, object] | None = None,
    setup: str | None = None,
    worker: bool = False,
    env: dict[str, object] | None = None,
) -> InstrumentedServer:
    """Start the server (without the simulated market) and wait until it answers HTTP."""
    port = free_port()
    probe_dir = processes.log_dir / f"{name}-probe"
    probe_dir.mkdir()
    launcher = [
        sys.executable,
        "-m",
        "tests.integration.instrumented_server",
        "--prefix",
        prefix,
        "--probe-dir",
        str(probe_dir),
    ]
    if layer_url:
        launcher += ["--layer-url", layer_url]
    for target, value in (patches or {}).items():
        launcher += ["--patch", f"{target}={value!r}"]
    if setup:
        launcher += ["--setup", setup]
    if daphne:
        command = [
            "--daphne",
            "--",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "portfolio_stream.asgi:application",
        ]
    else:
        command = ["--", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-market"]
        if not worker:
            command.append("--no-worker")
    child_environment = child_env(
        REDIS_URL=redis_url,
        SIMULATED_BROKER_LATENCY_SECONDS=0,
        DJANGO_DEBUG="1",
        ALPACA_DATA_API_KEY="",
        ALPACA_DATA_SECRET_KEY="",
        **(env or {}),
    )
    child = processes.start(name, [*launcher, *command], child_environment)
    server = InstrumentedServer(child, port, probe_dir)
    server.wait_ready()
    return server


# --- In the server process ------------------------------------------------------------------


def _state(loop: asyncio.AbstractEventLoop, light: bool) -> dict[str, Any]:
    from channels.layers import channel_layers

    from realtime import draining
    from realtime.consumers import PortfolioConsumer
    from realtime.layers import _cleanups
    from realtime.stats import stats_snapshot
    from realtime.tracking import registry

    layer = channel_layers["default"]
    loop_layer = getattr(layer, "_layers", {}).get(loop)
    consumers = None
    if not light:
        gc.collect()
        # type(), not isinstance(): a lazy object (scope["user"]) raises on __class__.
        consumers = sum(1 for o in gc.get_objects() if type(o) is PortfolioConsumer)
    tasks: dict[str, int] = {}
    for task in asyncio.all_tasks(loop):
        coroutine = task.get_coro()
        label = getattr(coroutine, "__qualname__", type(coroutine).__name__)
        tasks[label] = tasks.get(label, 0) + 1
    counters = stats_snapshot()
    rss_kib = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    return {
        "layer_channels": len(loop_layer.channels) if loop_layer else 0,
        "layer_groups": len(loop_layer.groups) if loop_layer else 0,
        "layer_subscribed": (
            sum(len(shard._subscribed_to) for shard in loop_layer._shards) if loop_layer else 0
        ),
        "pending_unsubscribes": (
            loop_layer.pending_unsubscribes() if hasattr(loop_layer, "pending_unsubscribes") else 0
        ),
        "cleanup_tasks": len(_cleanups),
        "tasks": tasks,
        "task_count": sum(tasks.values()),
        "consumers": consumers,
        "rss_kib": rss_kib,
        "registry": registry.summary(),
        "draining_sockets": len(draining.sockets),
        "connections_active": counters["connections_active"],
        "errors": counters["errors"],
        "disconnects": counters["disconnects"],
    }


def _serve_probes(probe_dir: Path) -> None:
    while True:
        time.sleep(0.02)
        for request in sorted(probe_dir.glob("*.request")):
            # Looked up, never imported: importing it first would install another reactor.
            loop = sys.modules["twisted.internet.reactor"]._asyncioEventloop

            light = request.read_text() == "light"

            async def read(light: bool = light) -> dict[str, Any]:
                return _state(asyncio.get_running_loop(), light)

            try:
                state = asyncio.run_coroutine_threadsafe(read(), loop).result(timeout=15)
            except Exception as error:
                state = {"error": repr(error)}
            partial = request.with_suffix(".partial")
            partial.write_text(json.dumps(state))
            partial.replace(request.with_suffix(".json"))
            request.unlink()


def _apply_patch(spec: str) -> None:
    target, _, literal = spec.partition("=")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    if not hasattr(module, attribute):
        raise SystemExit(f"--patch: {module_name} has no {attribute}")
    setattr(module, attribute, ast.literal_eval(literal))


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m tests.integration.instrumented_server")
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--probe-dir", type=Path, required=True)
    parser.add_argument("--layer-url", help="the channel layer's Redis (default: REDIS_URL)")
    parser.add_argument("--patch", action="append", default=[], help="module:NAME=literal")
    parser.add_argument("--setup", help="module:function to call once Django is set up")
    parser.add_argument("--daphne", action="store_true", help="run the daphne command")
    options = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    os.chdir(REPO_ROOT)
    import django
    from django.conf import settings

    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    if "Redis" not in layer["BACKEND"]:
        raise SystemExit("these tests need REDIS_URL (the Redis channel layer)")
    layer.setdefault("CONFIG", {})["prefix"] = options.prefix
    if options.layer_url:
        layer["CONFIG"]["hosts"] = [{"address": options.layer_url}]
    settings.CACHES["default"]["KEY_PREFIX"] = options.prefix
    settings.CACHES["waffle"]["KEY_PREFIX"] = options.prefix
    settings.STATS_REDIS_PREFIX = f"{options.prefix}:stats:"
    django.setup()
    for spec in options.patch:
        _apply_patch(spec)
    if options.setup:
        module_name, _, function = options.setup.partition(":")
        getattr(importlib.import_module(module_name), function)()
    threading.Thread(
        target=_serve_probes, args=(options.probe_dir,), name="probe", daemon=True
    ).start()
    if options.daphne:
        from daphne.cli import CommandLineInterface

        CommandLineInterface().run(command)
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line([str(MANAGE_PY), *command])


if __name__ == "__main__":
    main(sys.argv[1:])
