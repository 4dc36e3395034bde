"""The heartbeat: pings on schedule, an idle close once, nothing after stop()."""

import asyncio

from realtime.heartbeat import Heartbeat


async def test_pings_every_interval_while_the_client_talks_then_closes_once_when_quiet() -> None:
    loop = asyncio.get_running_loop()
    heard = [loop.time()]
    pings: list[float] = []
    idles: list[float] = []
    heartbeat = Heartbeat(
        interval=0.05,
        idle_timeout=0.3,
        last_heard=lambda: heard[0],
        ping=lambda: pings.append(loop.time()),
        on_idle=lambda: idles.append(loop.time()),
        on_failure=lambda error: None,
    )
    started = loop.time()
    while loop.time() - started < 0.4:
        heard[0] = loop.time()  # the client answers
        await asyncio.sleep(0.02)
    assert len(pings) >= 5 and idles == []
    await asyncio.sleep(0.45)  # the client went quiet
    assert len(idles) == 1
    assert idles[0] - heard[0] >= 0.3
    assert not heartbeat.running


async def test_stop_cancels_everything_and_a_failing_ping_is_reported() -> None:
    loop = asyncio.get_running_loop()
    failures: list[BaseException] = []

    def broken_ping() -> None:
        raise RuntimeError("boom")

    heartbeat = Heartbeat(
        interval=0.01,
        idle_timeout=10,
        last_heard=loop.time,
        ping=broken_ping,
        on_idle=lambda: None,
        on_failure=failures.append,
    )
    await asyncio.sleep(0.05)
    assert [str(f) for f in failures] == ["boom"] and not heartbeat.running
    quiet = Heartbeat(
        interval=0.01,
        idle_timeout=0.02,
        last_heard=lambda: 0.0,
        ping=broken_ping,
        on_idle=broken_ping,
        on_failure=failures.append,
    )
    quiet.stop()
    await asyncio.sleep(0.05)
    assert len(failures) == 1
