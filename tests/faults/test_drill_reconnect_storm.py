"""Drill 1: a reconnect storm. Every socket of a server comes back after a restart.

N subscribed sockets (DRILL_STORM_SOCKETS, 300 by default; `make test-faults` runs it again
with 1,000 on SQLite, see docs/benchmarks.md) on one `manage.py serve` with the Redis
channel layer, with production's settings (DEBUG off: DEBUG's query log is not what a
deploy pays for). The server is stopped with SIGTERM (a deploy: every socket gets 1012) and
started again on the same port; the tabs reconnect as static/'s live client does after a
1012 (0.5-1 s, then every 1.5-3 s). Within 20 s of the SIGTERM every tab must be live again
with all three snapshots; neither server may log an error; the number of Redis connections
must not grow with the sockets (CLIENT LIST of the drill's own Redis, before and after, and
its peak); and once the tabs leave, the new server is back at its baseline (gauge, registry,
layer) within 10 s.
"""

import asyncio
import contextlib
import json
import math
import os
import signal
import time
from typing import Any

import pytest

from tests.faults.drill_clients import LiveTab, start_tabs, stop_tabs, wait_until
from tests.faults.drill_support import (
    OwnRedis,
    count_lines,
    drill_processes,
    server_errors,
    start_drill_server,
)
from tests.integration.instrumented_server import InstrumentedServer
from tests.integration.live_server import free_port, unique_prefix
from tests.integration.socket_clients import make_stream_users, session_cookie
from tests.load.harness import CpuWindow
from tests.processes import Processes, production_http_env

__all__ = ["drill_processes"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SOCKETS = int(os.environ.get("DRILL_STORM_SOCKETS", "300"))
SOCKETS_PER_USER = 3
BACK_WITHIN_SECONDS = 20.0
# The server's own Redis clients (layer publisher and subscriber, cache, stats reporter)
# may come back as a few more or fewer; anything growing with the sockets is a leak.
REDIS_CLIENTS_SLACK = 4
# From the tabs leaving to the new server's counters, registry and layer all at zero.
BASELINE_WITHIN_SECONDS = 10.0
BASELINE_KEYS = ("connections_active", "layer_channels", "layer_groups")


def production_env() -> dict[str, object]:
    """DEBUG off, sharing the test's secret key (its sessions are signed with it)."""
    from django.conf import settings

    return {"DJANGO_DEBUG": "0", **production_http_env(settings.SECRET_KEY)}


def _at_baseline(state: dict[str, Any]) -> bool:
    return all(state[key] == 0 for key in BASELINE_KEYS) and state["registry"]["connections"] == 0


async def _storm(
    processes: Processes,
    redis: OwnRedis,
    first: InstrumentedServer,
    cookies: list[str],
    prefix: str,
) -> dict[str, Any]:
    tabs = [
        LiveTab(f"tab{i}", i // SOCKETS_PER_USER, first.ws_url, first.base_url, cookie)
        for i, cookie in enumerate(cookies)
    ]
    began = time.monotonic()
    tasks = await start_tabs(tabs)
    opened_seconds = time.monotonic() - began
    before = await asyncio.to_thread(first.probe, light=True)
    redis_before = await asyncio.to_thread(redis.client_count)
    redis_peak = [redis_before]

    async def sample_redis() -> None:
        while True:
            redis_peak.append(await asyncio.to_thread(redis.client_count))
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample_redis())
    stopped_at = time.monotonic()
    first.child.popen.send_signal(signal.SIGTERM)
    exit_code = await asyncio.to_thread(first.child.wait, 30)
    exited_after = time.monotonic() - stopped_at
    second = start_drill_server(
        processes,
        "serve-2",
        port=first.port,
        redis_url=redis.url(),
        prefix=prefix,
        env=production_env(),
        wait=False,
    )
    await asyncio.to_thread(second.wait_ready)
    ready_after = time.monotonic() - stopped_at
    cpu = CpuWindow({"server": second.child.pid, "clients": os.getpid()}).start()
    try:
        await wait_until(
            lambda: all(tab.live_since(stopped_at) for tab in tabs), 60, "every tab live again"
        )
    except TimeoutError:
        pass
    storm_cpu = cpu.stop()
    back = sorted(
        moment - stopped_at for tab in tabs if (moment := tab.live_since(stopped_at)) is not None
    )
    await asyncio.sleep(1.0)
    sampler.cancel()
    redis_after = await asyncio.to_thread(redis.client_count)
    during = await asyncio.to_thread(second.probe)
    await stop_tabs(tabs, tasks)
    left_at = time.monotonic()
    # Cleanup is asynchronous (daphne's disconnects, the batched UNSUBSCRIBEs): wait for the
    # baseline, bounded. A leak stays; a busy machine only takes longer.
    with contextlib.suppress(TimeoutError):
        await wait_until(
            lambda: _at_baseline(second.probe(light=True)), BASELINE_WITHIN_SECONDS, "baseline"
        )
    after = await asyncio.to_thread(second.probe)
    baseline_after = time.monotonic() - left_at
    return {
        "tabs": tabs,
        "second": second,
        "stopped_at": stopped_at,
        "numbers": {
            "sockets": len(tabs),
            "open_all_seconds": round(opened_seconds, 1),
            "exit_code": exit_code,
            "old_server_exited_after_s": round(exited_after, 2),
            "new_server_ready_after_s": round(ready_after, 2),
            "back": len(back),
            "back_p50_s": round(back[len(back) // 2], 2) if back else None,
            "back_max_s": round(back[-1], 2) if back else None,
            "failed_handshakes": sum(tab.failed_attempts for tab in tabs),
            "redis_clients_before": redis_before,
            "redis_clients_after": redis_after,
            "redis_clients_peak": max(redis_peak),
            "connections_before": before["connections_active"],
            "connections_after_restart": during["connections_active"],
            # From the new server's first HTTP answer until the last tab was live again.
            "cpu_pct_of_one_core": storm_cpu["cpu_pct_of_one_core"],
            "machine_busy_pct": storm_cpu["machine_busy_pct_of_all_cores"],
            "baseline_after_tabs_left_s": round(baseline_after, 2),
            "loadavg": storm_cpu["loadavg_after"],
        },
        "during": during,
        "after": after,
    }


def test_every_socket_is_back_with_snapshots_after_a_restart(
    drill_processes: Processes,
) -> None:
    redis = OwnRedis(drill_processes)
    redis.start()
    users = make_stream_users(math.ceil(SOCKETS / SOCKETS_PER_USER), "storm")
    cookies = [session_cookie(user) for user in users for _ in range(SOCKETS_PER_USER)]
    prefix = unique_prefix()
    first = start_drill_server(
        drill_processes,
        "serve-1",
        port=free_port(),
        redis_url=redis.url(),
        prefix=prefix,
        env=production_env(),
    )

    got = asyncio.run(_storm(drill_processes, redis, first, cookies[:SOCKETS], prefix))
    numbers, tabs = got["numbers"], got["tabs"]
    print("reconnect storm:", json.dumps(numbers))

    problems = []
    first_closes = [tab.close_codes(got["stopped_at"])[:1] for tab in tabs]
    not_1012 = [codes for codes in first_closes if codes != [1012]]
    if not_1012:
        problems.append(f"{len(not_1012)} tabs were not closed with 1012: {not_1012[:5]}")
    if numbers["exit_code"] != 0:
        problems.append(f"the old server exited with {numbers['exit_code']}")
    if count_lines(first, f"closing {SOCKETS} socket(s) with 1012") != 1:
        problems.append("the old server did not announce closing every socket with 1012")
    if numbers["back"] != SOCKETS:
        problems.append(f"only {numbers['back']} of {SOCKETS} tabs came back")
    elif numbers["back_max_s"] > BACK_WITHIN_SECONDS:
        problems.append(f"the last tab came back after {numbers['back_max_s']}s")
    if numbers["connections_after_restart"] != SOCKETS:
        problems.append(f"the new server counts {numbers['connections_after_restart']} sockets")
    if got["during"]["registry"]["connections"] != SOCKETS:
        problems.append(f"the new server's registry: {got['during']['registry']}")
    for key in ("redis_clients_after", "redis_clients_peak"):
        if numbers[key] > numbers["redis_clients_before"] + REDIS_CLIENTS_SLACK:
            problems.append(f"{key} {numbers[key]} vs {numbers['redis_clients_before']} before")
    after = got["after"]
    for key in ("connections_active", "consumers", "layer_channels", "layer_groups"):
        if after[key] != 0:
            problems.append(f"after the tabs left, the new server has {key} = {after[key]}")
    if after["registry"]["connections"] != 0:
        problems.append(f"after the tabs left, the registry holds {after['registry']}")
    problems += server_errors(first, got["second"])[:20]
    assert not problems, "\n".join(problems)
