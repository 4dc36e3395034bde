"""A request that fails is logged once, with its traceback, in DEBUG and in production.

Django's default logging gives the "django" logger a console handler of its own in DEBUG,
beside the root handler our settings add, which printed every 500 twice under daphne.
"""

import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.deploy.environments import REPO_ROOT, clean_environment, production_environment

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve_one_failure(env: dict[str, str], tmp_path) -> tuple[str, str]:
    """Start daphne, GET the failing view once, stop it; returns (marker, its whole output)."""
    port = _free_port()
    marker = uuid.uuid4().hex
    log = tmp_path / "daphne.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.deploy.error_server", "-b", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env={**env, "PORTFOLIO_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            with httpx.Client(trust_env=False, timeout=5) as client:
                while True:
                    assert server.poll() is None, log.read_text()
                    try:
                        response = client.get(
                            f"http://127.0.0.1:{port}/test-failure/", params={"marker": marker}
                        )
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, log.read_text()
                        time.sleep(0.2)
            assert response.status_code == 500
            time.sleep(0.5)  # the log lines are written after the response
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return marker, log.read_text()


@pytest.mark.parametrize("debug", ["1", "0"])
def test_a_failing_request_is_logged_once(debug, tmp_path):
    if debug == "1":
        env = clean_environment(DJANGO_DEBUG="1")
    else:
        env = production_environment(DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_HTTPS="0")
        # The failing view needs neither; keep the child off the real services.
        del env["DATABASE_URL"], env["REDIS_URL"]

    marker, output = _serve_one_failure(env, tmp_path)

    assert output.count(f"RuntimeError: deliberate failure {marker}") == 1, output
    assert output.count("Internal Server Error: /test-failure/") == 1, output
    assert "Exception inside application" not in output
