"""limit_malloc_arenas: glibc takes the limit; the environment's setting and other C libraries
are left alone."""

import platform

import pytest

from portfolio_stream import malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_glibc_takes_the_limit(monkeypatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)

    assert malloc_arenas.limit_malloc_arenas() is True


def test_the_environment_wins(monkeypatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")

    assert malloc_arenas.limit_malloc_arenas() is False


def test_nothing_is_done_off_linux(monkeypatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.setattr("sys.platform", "darwin")

    assert malloc_arenas.limit_malloc_arenas() is False
