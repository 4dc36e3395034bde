"""Alpaca through the whole product, with the unmodified alpaca-py and the local fake Alpaca.

A real `manage.py serve` (daphne, the order worker and the broker streams in one process,
Redis channel layer) talks to the fake Alpaca running in this test process. A browser's
session logs in, posts orders through the REST API and reads the real WebSocket. The fake
records when it sent each trade update, the socket reader when each frame arrived: both
use this process's perf_counter, so fill-to-socket latency is measured directly.
"""

import signal
import statistics
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_user
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    SECRET_KEY,
    fake_alpaca_fixture,
    link_alpaca_account,
)
from tests.fake_alpaca.live import (  # noqa: F401 - fixtures
    all_events,
    alpaca_env,
    connected,
    event,
    launch,
    open_socket,
    post_order,
    post_order_ids,
    processes_fixture,
    run,
    serve,
)
from tests.integration.live_server import FrameLog, events_of, login
from tests.processes import wait_for
from trading.models import BrokerAccount, Fill, Order, Position

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "pw-for-tests-1"
LATENCY_ORDERS = 5


def test_an_order_filled_at_alpaca_streams_to_the_browser(processes, fake_alpaca):
    account = link_alpaca_account(fake_alpaca)
    server = serve(processes, fake_alpaca)
    connected(account, processes)

    async def scenario() -> list[float]:
        session = await login(server.base_url, account.user.username, PASSWORD)
        ws, log = await open_socket(server, session)
        latencies = []
        try:
            for number in range(1, LATENCY_ORDERS + 1):
                order_id = await post_order(session, server, "AAPL", "2")
                arrived, frame = await event(log, "trade_executed", order_id=order_id)
                sent = next(
                    at
                    for at, _, data in fake_alpaca.streams.sent
                    if data.get("execution_id") == frame["data"]["execution_id"]
                )
                latencies.append(arrived - sent)
                assert frame["data"]["price"] == "200.00000000"
                await event(
                    log, "order_update", id=order_id, status="filled", filled_qty="2.000000"
                )
                await event(log, "position_update", symbol="AAPL", qty=f"{2 * number}.000000")
                cash = f"{100000 - 400 * number}.00"
                await event(log, "account_update", cash=cash)
        finally:
            await ws.close()
            await session.client.aclose()
        return latencies

    latencies = run(scenario())
    p50, worst = 1000 * statistics.median(latencies), 1000 * max(latencies)
    each = ", ".join(f"{1000 * s:.1f}" for s in latencies)
    print(
        f"fake Alpaca fill -> socket trade_executed: p50 {p50:.1f} ms, max {worst:.1f} ms ({each})"
    )
    assert max(latencies) < 1.0
    assert fake_alpaca.order(KEY_ID, Order.objects.first().client_order_id)["status"] == "filled"


def test_a_dropped_stream_resyncs_to_exact_positions_with_no_fill_lost_or_doubled(
    processes, fake_alpaca
):
    account = link_alpaca_account(fake_alpaca, auto_fill=False)
    server = serve(processes, fake_alpaca)
    connected(account, processes)

    async def scenario() -> FrameLog:
        session = await login(server.base_url, account.user.username, PASSWORD)
        ws, log = await open_socket(server, session)
        try:
            aapl, aapl_cid = await post_order_ids(session, server, "AAPL", "10")
            msft, msft_cid = await post_order_ids(session, server, "MSFT", "5")
            await event(log, "order_update", id=msft, status="new")
            fake_alpaca.fill(KEY_ID, aapl_cid, qty="3", price="199.00")
            await event(log, "position_update", symbol="AAPL", qty="3.000000")

            with fake_alpaca.trade_stream_down(KEY_ID):  # in the middle of trading
                fake_alpaca.fill(KEY_ID, aapl_cid, qty="7", price="201.00")
                fake_alpaca.fill(KEY_ID, msft_cid, qty="2", price="400.00")
            # The resync books what the stream missed, and the socket hears it.
            await event(log, "order_update", id=aapl, status="filled", filled_qty="10.000000")
            await event(log, "position_update", symbol="MSFT", qty="2.000000")

            fake_alpaca.fill(KEY_ID, msft_cid, qty="3", price="402.00")  # live again
            await event(log, "order_update", id=msft, status="filled", filled_qty="5.000000")
            await event(log, "position_update", symbol="MSFT", qty="5.000000")
            await event(log, "account_update", cash=f"{fake_alpaca.account(KEY_ID).cash:.2f}")
        finally:
            await ws.close()
            await session.client.aclose()
        return log

    log = run(scenario())
    ours = {p.symbol: (p.qty, p.avg_entry_price) for p in Position.objects.filter(account=account)}
    assert ours == fake_alpaca.positions(KEY_ID)
    assert ours["AAPL"] == (Decimal("10"), Decimal("200.4"))
    assert BrokerAccount.objects.get(pk=account.pk).cash == fake_alpaca.account(KEY_ID).cash
    for order in Order.objects.filter(account=account):
        booked = sum(f.qty for f in Fill.objects.filter(order=order))
        assert (
            booked
            == order.qty
            == Decimal(fake_alpaca.order(KEY_ID, order.client_order_id)["filled_qty"])
        )
    trades = all_events(log, "trade_executed")
    assert sum(Decimal(t["data"]["qty"]) for t in trades) == Decimal("15")
    assert len({t["data"]["execution_id"] for t in trades}) == len(trades)


def test_a_repeated_execution_id_is_ignored(processes, fake_alpaca):
    account = link_alpaca_account(fake_alpaca)
    server = serve(processes, fake_alpaca)
    connected(account, processes)

    async def scenario() -> FrameLog:
        session = await login(server.base_url, account.user.username, PASSWORD)
        ws, log = await open_socket(server, session)
        try:
            first = await post_order(session, server, "AAPL", "4")
            await event(log, "trade_executed", order_id=first)
            fake_alpaca.replay_last_fill(KEY_ID)
            second = await post_order(session, server, "AAPL", "1")
            await event(log, "position_update", symbol="AAPL", qty="5.000000")
            await event(log, "trade_executed", order_id=second)
        finally:
            await ws.close()
            await session.client.aclose()
        return log

    log = run(scenario())
    assert len(all_events(log, "trade_executed")) == 2
    assert Fill.objects.filter(account=account).count() == 2
    assert Position.objects.get(account=account, symbol="AAPL").qty == Decimal("5")


def test_insufficient_buying_power_at_alpaca_ends_the_order_rejected_with_its_reason(
    processes, fake_alpaca
):
    account = link_alpaca_account(fake_alpaca)
    server = serve(processes, fake_alpaca)
    connected(account, processes)
    fake_alpaca.set_buying_power(KEY_ID, "500.00")

    async def scenario() -> dict[str, Any]:
        session = await login(server.base_url, account.user.username, PASSWORD)
        ws, log = await open_socket(server, session)
        try:
            order_id = await post_order(session, server, "AAPL", "3")
            _, frame = await event(log, "order_update", id=order_id, status="rejected")
        finally:
            await ws.close()
            await session.client.aclose()
        return next(e for e in events_of(frame) if e.get("type") == "order_update")

    update = run(scenario())
    assert update["data"]["reject_reason"] == (
        "Insufficient buying power at Alpaca: this order needs $600.00 and $500.00 is available."
    )


def test_bad_credentials_are_reported_in_the_admin_and_the_logs(processes, fake_alpaca):
    account = link_alpaca_account(fake_alpaca)
    fake_alpaca.account(KEY_ID).secret_key = "revoked-at-alpaca"
    serve(processes, fake_alpaca)

    wait_for(
        lambda: BrokerAccount.objects.get(pk=account.pk).broker_status == "auth_failed",
        timeout=15,
        what="auth_failed",
        processes=processes,
    )
    account.refresh_from_db()
    assert "Alpaca refused the API keys" in account.broker_error
    wait_for(
        lambda: "Stopping its stream until the keys are linked again" in processes.logs(),
        timeout=5,
        what="the error in the log",
    )
    admin = make_user("ops")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/trading/brokeraccount/{account.pk}/change/").content.decode()
    assert "auth_failed" in page and "Alpaca refused the API keys" in page
    assert SECRET_KEY not in page and account.credentials_encrypted not in page
    listing = client.get("/admin/trading/brokeraccount/").content.decode()
    assert "auth_failed" in listing


def test_a_market_data_trade_moves_the_positions_pl_on_the_socket(processes, fake_alpaca):
    account = link_alpaca_account(fake_alpaca)
    fake_alpaca.account(KEY_ID).positions["AAPL"] = (Decimal("10"), Decimal("200"))
    server = serve(
        processes, fake_alpaca, ALPACA_DATA_API_KEY=KEY_ID, ALPACA_DATA_SECRET_KEY=SECRET_KEY
    )
    connected(account, processes)  # the resync brought the position in
    wait_for(
        lambda: fake_alpaca.subscribed_trades() == {"AAPL"},
        timeout=10,
        what="a subscription to AAPL trades",
        processes=processes,
    )

    async def scenario() -> dict[str, Any]:
        session = await login(server.base_url, account.user.username, PASSWORD)
        ws, log = await open_socket(server, session)
        try:
            fake_alpaca.publish_trade("AAPL", "212.34")
            _, frame = await event(
                log, "position_update", symbol="AAPL", current_price="212.34000000"
            )
        finally:
            await ws.close()
            await session.client.aclose()
        return next(e for e in events_of(frame) if e.get("type") == "position_update")

    position = run(scenario())["data"]
    assert position["market_value"] == "2123.40"
    assert position["unrealized_pl"] == "123.40"


def test_run_broker_stream_mirrors_orders_placed_at_alpaca_and_stops_on_sigterm(
    processes, fake_alpaca
):
    """Distributed mode: the broker streams in their own process, stopped cleanly."""
    account = link_alpaca_account(fake_alpaca)
    child = launch(processes, "broker-stream", ["run_broker_stream"], alpaca_env(fake_alpaca))
    connected(account, processes)

    # An order placed outside the app (Alpaca's dashboard, say) is mirrored with its fill.
    status, _ = fake_alpaca.broker.submit(
        fake_alpaca.account(KEY_ID),
        {"symbol": "MSFT", "qty": "3", "side": "buy", "type": "market",
         "time_in_force": "day", "client_order_id": "placed-at-alpaca"},
    )  # fmt: skip
    assert status == 200
    wait_for(
        lambda: Order.objects.filter(client_order_id="placed-at-alpaca", status="filled").exists(),
        timeout=10,
        what="the mirrored order",
        processes=processes,
    )
    assert Position.objects.get(account=account, symbol="MSFT").qty == Decimal("3")

    child.kill(signal.SIGTERM)
    assert child.wait(timeout=15) == 0
    assert "broker streams stopped" in child.output()
    assert BrokerAccount.objects.get(pk=account.pk).broker_status == "stopped"
