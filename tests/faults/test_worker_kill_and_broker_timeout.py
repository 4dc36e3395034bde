"""Drill 5: a worker SIGKILLed mid-submit, and a broker that takes the order but times out.

Either way the broker ends up with at most one order per client_order_id, and a cancel the
trader sends afterwards is carried to the broker and honoured there, never just marked
canceled here while the order lives on at the venue.

The worker processes are real `run_order_worker` children sharing the test database
(tests/processes.py); the Alpaca case runs the worker in-process against the fake Alpaca
with the broker-stream host delivering Alpaca's `canceled` event.
"""

import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import make_account
from tests.fake_alpaca.fixtures import (  # noqa: F401 - fixtures
    KEY_ID,
    broker_host_fixture,
    fake_alpaca_fixture,
    link_alpaca_account,
    wait_until,
)
from tests.processes import Processes, child_env
from tests.processes import wait_for as wait_for_children
from tests.trading.order_api import with_csrf
from trading.broker.alpaca import gateway as alpaca_gateway_module
from trading.broker.alpaca.gateway import AlpacaGateway
from trading.enums import JobKind, JobStatus, OrderStatus
from trading.models import BrokerAccount, Instrument, Order, OrderJob, SimulatedOrder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

D = Decimal
LEASE_SECONDS = 2
# Rests at the venue: the market is at 200.
LIMIT_BUY = {"symbol": "AAPL", "side": "buy", "qty": "5", "type": "limit", "limit_price": "150"}


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    yield group
    group.close()


def trader(account: BrokerAccount) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(account.user)
    return with_csrf(client)


def place(client: APIClient) -> Order:
    response = client.post("/api/orders/", LIMIT_BUY, format="json")
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["id"])


def cancel(client: APIClient, order: Order) -> str:
    response = client.delete(f"/api/orders/{order.pk}/")
    assert response.status_code == 202, response.content
    return str(response.json()["status"])


def venue_orders(order: Order) -> list[SimulatedOrder]:
    return list(
        SimulatedOrder.objects.filter(
            account_id=order.account_id, client_order_id=order.client_order_id
        )
    )


def start_worker(processes: Processes, name: str, **env: object) -> None:
    processes.manage(
        name,
        "run_order_worker",
        "--worker-id",
        name,
        "--poll-interval",
        "0.1",
        env=child_env(ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS, **env),
    )


def kill(processes: Processes, name: str) -> None:
    [child] = [c for c in processes.children if c.name == name]
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL


def rescue(processes: Processes) -> None:
    """A second worker, in burst mode once the dead worker's lease has run out."""
    time.sleep(LEASE_SECONDS + 0.3)
    rescuer = processes.manage(
        "rescuer",
        "run_order_worker",
        "--burst",
        "--worker-id",
        "rescuer",
        env=child_env(SIMULATED_BROKER_LATENCY_SECONDS=0, ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS),
    )
    assert rescuer.wait(timeout=60) == 0, processes.logs()


@pytest.fixture
def aapl() -> None:
    Instrument.objects.update_or_create(
        symbol="AAPL", defaults={"tradable": True, "price": D("200.00"), "prev_close": D("200")}
    )


def test_worker_killed_after_the_broker_took_the_order_then_a_cancel_reaches_the_broker(
    processes, aapl
):
    account = make_account("killed-mid-submit")
    client = trader(account)
    order = place(client)
    # The venue commits the order, then "answers" 30 s later: the worker dies in between.
    start_worker(processes, "worker-a", SIMULATED_BROKER_LATENCY_SECONDS=30)
    wait_for_children(
        lambda: len(venue_orders(order)) == 1,
        timeout=30,
        what="the venue to hold the order while worker-a waits for its answer",
        processes=processes,
    )
    kill(processes, "worker-a")

    # The trader cancels while the dead worker's lease still stands.
    assert cancel(client, order) == OrderStatus.PENDING_CANCEL
    rescue(processes)

    [at_venue] = venue_orders(order)  # exactly one, however often the submit ran
    assert at_venue.status == OrderStatus.CANCELED
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.broker_order_id == str(at_venue.broker_order_id)
    assert order.filled_qty == 0
    jobs = dict(OrderJob.objects.filter(order=order).values_list("kind", "status"))
    assert jobs == {JobKind.SUBMIT: JobStatus.DONE, JobKind.CANCEL: JobStatus.DONE}
    account.refresh_from_db()
    assert account.buying_power == account.cash == D("100000.00")


def test_worker_killed_before_the_broker_got_the_order_then_a_cancel_places_nothing(
    processes, aapl, tmp_path
):
    account = make_account("killed-before-submit")
    client = trader(account)
    order = place(client)
    paused = tmp_path / "paused-before-submit"
    processes.manage_with_hooks(
        "worker-a",
        "run_order_worker",
        "--worker-id",
        "worker-a",
        "--poll-interval",
        "0.1",
        env=child_env(ORDER_JOB_LEASE_SECONDS=LEASE_SECONDS),
        pause_before_submit=paused,
    )
    wait_for_children(
        paused.exists, timeout=30, what="worker-a at the broker call", processes=processes
    )
    kill(processes, "worker-a")

    assert cancel(client, order) == OrderStatus.PENDING_CANCEL  # it may have been sent
    rescue(processes)

    assert venue_orders(order) == []  # the retry never placed what the trader canceled
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    assert order.broker_order_id is None


def test_alpaca_took_the_order_but_timed_out_one_order_and_the_cancel_is_honoured(
    fake_alpaca, broker_host, work_queue, monkeypatch
):
    monkeypatch.setattr("trading.work_queue.retry_delay_seconds", lambda attempts: 60.0)
    account = link_alpaca_account(fake_alpaca, auto_fill=False)
    broker_host.start()
    wait_until(lambda: fake_alpaca.trade_listeners(KEY_ID) == 1, what="a listening stream")
    client = trader(account)
    order = place(client)

    # Alpaca takes the POST and answers after our read timeout.
    monkeypatch.setattr(alpaca_gateway_module, "REQUEST_TIMEOUT_SECONDS", (5.0, 0.2))
    submit = AlpacaGateway.submit_order

    def slow_answer(self, request):
        fake_alpaca.rest_controls.delay_seconds = 0.6
        try:
            return submit(self, request)
        finally:
            fake_alpaca.rest_controls.delay_seconds = 0.0

    monkeypatch.setattr(AlpacaGateway, "submit_order", slow_answer)
    assert work_queue() == 1
    job = OrderJob.objects.get(order=order, kind=JobKind.SUBMIT)
    assert (job.status, job.last_error) == (JobStatus.QUEUED, "Alpaca did not answer in time.")
    wait_until(
        lambda: fake_alpaca.order(KEY_ID, order.client_order_id) is not None,
        what="Alpaca to hold the order",
    )

    # The retry comes due: it finds the order by client_order_id instead of placing another.
    monkeypatch.setattr(AlpacaGateway, "submit_order", submit)
    OrderJob.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert work_queue() == 1
    placed = fake_alpaca.order(KEY_ID, order.client_order_id)
    assert len(fake_alpaca.requests("POST", "/v2/orders")) == 1
    order.refresh_from_db()
    assert order.broker_order_id == placed["id"]

    assert cancel(client, order) == OrderStatus.PENDING_CANCEL
    assert work_queue() == 1

    assert fake_alpaca.order(KEY_ID, order.client_order_id)["status"] == "canceled"
    assert fake_alpaca.requests("DELETE", f"/v2/orders/{placed['id']}")
    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == OrderStatus.CANCELED,
        what="Alpaca's canceled event on the stream",
    )
    assert len(fake_alpaca.requests("POST", "/v2/orders")) == 1
