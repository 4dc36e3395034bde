"""The sockets' database trips run on their own threads, with Channels' connection care."""

import asyncio
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from realtime.db_trips import db_trip

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _where() -> tuple[str, int]:
    return threading.current_thread().name, get_user_model().objects.count()


def test_a_trip_runs_on_a_socket_database_thread_and_reads_committed_rows() -> None:
    get_user_model().objects.create(username="trip")
    name, users = asyncio.run(db_trip(_where)())
    assert name.startswith("socket-db")
    assert users == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Django's SQLite connections are always usable"
)
def test_a_broken_connection_is_closed_before_the_next_trip() -> None:
    def break_it() -> None:
        connection.ensure_connection()
        connection.errors_occurred = True
        connection.connection.close()  # what a restarted database leaves behind

    def read() -> int:
        return get_user_model().objects.count()

    async def trips() -> int:
        await db_trip(break_it)()
        return await db_trip(read)()

    assert asyncio.run(trips()) == 0
