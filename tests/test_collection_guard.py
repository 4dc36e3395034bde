"""The collection guard refuses transactional tests without serialized_rollback."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import transactional_without_serialized_rollback


@dataclass
class _Item:
    marker: Any = None
    fixturenames: list[str] = field(default_factory=list)

    def get_closest_marker(self, name: str) -> Any:
        return self.marker if name == "django_db" else None


@pytest.mark.parametrize(
    ("marker", "fixtures"),
    [
        (pytest.mark.django_db(transaction=True).mark, []),
        (pytest.mark.django_db(True).mark, []),
        (None, ["transactional_db"]),
        (None, ["live_server"]),
        (pytest.mark.django_db.mark, ["transactional_db"]),
    ],
)
def test_refused(marker: Any, fixtures: list[str]) -> None:
    assert transactional_without_serialized_rollback(_Item(marker, fixtures)) is not None


@pytest.mark.parametrize(
    ("marker", "fixtures"),
    [
        (None, []),
        (pytest.mark.django_db.mark, ["db"]),
        (pytest.mark.django_db(transaction=False).mark, []),
        (pytest.mark.django_db(transaction=True, serialized_rollback=True).mark, []),
        (pytest.mark.django_db(True, serialized_rollback=True).mark, []),
        (None, ["transactional_db", "django_db_serialized_rollback"]),
        (pytest.mark.django_db(serialized_rollback=True).mark, ["live_server"]),
    ],
)
def test_allowed(marker: Any, fixtures: list[str]) -> None:
    assert transactional_without_serialized_rollback(_Item(marker, fixtures)) is None
