"""heap_freeze: the server's and the commands' start-up heaps leave the collector's walks, once."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from portfolio_stream import heap_freeze as heap_freeze_module

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str) -> dict[str, int]:
    """Run `code` in a fresh interpreter (a freeze is for the process's life); its last line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portfolio_stream.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_asgi_application_freezes_what_the_server_imported() -> None:
    seen = _child(
        "import gc, json\n"
        "import portfolio_stream.asgi\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'tracked': len(gc.get_objects())}))\n"
    )

    # Django, DRF, the models and the schemas: tens of thousands of objects, nearly all.
    assert seen["frozen"] > 50_000
    assert seen["tracked"] < seen["frozen"] / 10


def test_a_command_freezes_when_it_says_it_started() -> None:
    seen = _child(
        "import gc, json, django\n"
        "django.setup()\n"
        "from trading import signals\n"
        "before = gc.get_freeze_count()\n"
        "signals.process_started.send(sender=None, role='worker')\n"
        "print(json.dumps({'before': before, 'after': gc.get_freeze_count()}))\n"
    )

    assert seen["before"] == 0
    assert seen["after"] > 50_000


def test_a_process_freezes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(heap_freeze_module, "_frozen", False)
    monkeypatch.setattr(gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))

    assert heap_freeze_module.heap_freeze() is True
    assert heap_freeze_module.heap_freeze() is False
    assert calls == ["collect", "freeze"]
