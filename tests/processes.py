"""Run real `manage.py` processes against the test database, and always clean them up.

Tests that start subprocesses must commit their rows (`django_db(transaction=True)`) so
that the children see them. `child_database_url()` names the test database for a child:
the SQLite test database is a file (settings.DATABASES["default"]["TEST"]["NAME"]), and a
PostgreSQL one is `test_<name>` on the same server.

Run as a module, this file is also a thin launcher for `manage.py` commands with test hooks
that a plain command line cannot express (a start barrier, a pause before the broker call):

    python -m tests.processes [--ready-file F --go-file G] [--pause-before-submit M] \
        -- run_order_worker --burst
"""

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO_ROOT / "manage.py"
# Variables of the parent that must not leak into a child's configuration.
_PARENT_ONLY = ("DATABASE_URL", "PYTEST_CURRENT_TEST", "PYTEST_ADDOPTS")


def child_database_url() -> str:
    """A DATABASE_URL naming the database this test runs on, as a child process must see it."""
    config = connection.settings_dict
    engine = config["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("an in-memory SQLite test database cannot be shared with a child")
        # Keep the parent's pragmas and transaction mode: two workers writing one SQLite
        # file need IMMEDIATE transactions and a busy timeout to queue instead of failing.
        scalar_options = {
            key: value
            for key, value in (config.get("OPTIONS") or {}).items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        }
        query = f"?{urlencode(scalar_options)}" if scalar_options else ""
        return f"sqlite:///{Path(name).resolve()}{query}"
    if engine == "django.db.backends.postgresql":
        user = quote(config.get("USER") or "", safe="")
        password = quote(config.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = config.get("HOST") or "127.0.0.1"
        port = config.get("PORT") or 5432
        return f"postgres://{credentials}{host}:{port}/{quote(config['NAME'], safe='')}"
    raise RuntimeError(f"no child DATABASE_URL for the {engine} backend")


def production_http_env(secret_key: str) -> dict[str, object]:
    """A server as production runs it, less HTTPS: plain HTTP on 127.0.0.1 with DEBUG off
    (the caller turns DEBUG off: by DJANGO_DEBUG, or a settings module where start_server's
    DJANGO_DEBUG=1 cannot be overridden)."""
    return {
        "DJANGO_HTTPS": "0",
        "DJANGO_SECRET_KEY": secret_key,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def child_env(**overrides: object) -> dict[str, str]:
    """The parent's environment, pointed at the test database, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key not in _PARENT_ONLY}
    env.update(
        DATABASE_URL=child_database_url(),
        DJANGO_SETTINGS_MODULE=os.environ.get(
            "DJANGO_SETTINGS_MODULE", "portfolio_stream.settings"
        ),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        LOG_LEVEL="INFO",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL if the test process dies (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class Child:
    """A started subprocess whose stdout and stderr go to a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.args = args
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit; fails the test (with its log) on timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} did not exit within {timeout}s; its output:\n{self.output()}"
            ) from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self._log.close()

    def describe(self) -> str:
        state = "running" if self.alive() else f"exited {self.popen.returncode}"
        return f"--- {self.name} (pid {self.pid}, {state}) ---\n{self.output()}"


class Processes:
    """Starts children for one test and kills every one still running at teardown."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, args, env, self.log_dir / f"{name}.log")
        self.children.append(child)
        return child

    def manage(self, name: str, *command: str, env: dict[str, str]) -> Child:
        """Start `python manage.py <command...>`."""
        return self.start(name, [sys.executable, str(MANAGE_PY), *command], env)

    def manage_with_hooks(
        self,
        name: str,
        *command: str,
        env: dict[str, str],
        ready_file: Path | None = None,
        go_file: Path | None = None,
        pause_before_submit: Path | None = None,
    ) -> Child:
        """Start a manage.py command through this module's launcher (see its docstring)."""
        launcher = [sys.executable, "-m", "tests.processes"]
        if ready_file and go_file:
            launcher += ["--ready-file", str(ready_file), "--go-file", str(go_file)]
        if pause_before_submit:
            launcher += ["--pause-before-submit", str(pause_before_submit)]
        return self.start(name, [*launcher, "--", *command], env)

    def logs(self) -> str:
        return "\n".join(child.describe() for child in self.children)

    def close(self) -> None:
        for child in self.children:
            child.close()


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    processes: Processes | None = None,
) -> Any:
    """Poll `condition` until it returns something truthy; fail with the children's logs."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            logs = f"\n{processes.logs()}" if processes else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{logs}")
        time.sleep(interval)


# --- The launcher ---------------------------------------------------------------------------


def _pause_before_submit(marker: Path) -> None:
    """Make the simulated broker's submit hang before it records anything."""
    from trading.broker.simulated.venue import SimulatedGateway

    def submit_order(self: SimulatedGateway, request: Any) -> Any:
        partial = marker.with_name(marker.name + ".partial")
        partial.write_text(request.client_order_id)
        partial.replace(marker)  # atomically: the test never reads a half-written marker
        time.sleep(600)  # until the test kills us
        raise RuntimeError("the test should have killed this worker")

    SimulatedGateway.submit_order = submit_order  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -m tests.processes")
    parser.add_argument("--ready-file", type=Path, help="touched once Django is set up")
    parser.add_argument("--go-file", type=Path, help="the command starts once this exists")
    parser.add_argument("--pause-before-submit", type=Path, metavar="MARKER")
    options = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("name a manage.py command after --")

    os.chdir(REPO_ROOT)
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    if options.pause_before_submit:
        _pause_before_submit(options.pause_before_submit)
    if options.ready_file and options.go_file:
        # A start barrier: the test releases all children at once, so process start-up
        # time does not decide which one gets the work.
        options.ready_file.touch()
        deadline = time.monotonic() + 60
        while not options.go_file.exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go signal within 60s")
            time.sleep(0.005)
    execute_from_command_line([str(MANAGE_PY), *command])


if __name__ == "__main__":
    main(sys.argv[1:])
