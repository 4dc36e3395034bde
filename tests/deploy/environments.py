"""Environments and a `manage.py` runner for the production-settings tests."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Whatever configures the project in the parent must not leak into these processes.
_CONFIG_PREFIXES = ("DJANGO_", "DATABASE_", "REDIS_", "PORTFOLIO_", "STATS_", "SERVE_STATIC")


def clean_environment(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    return {**clean, "DJANGO_SETTINGS_MODULE": "portfolio_stream.settings", **env}


def production_environment(**env: str) -> dict[str, str]:
    """What a real deployment sets (docs/deployment.md), plus `env`."""
    defaults = {
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "trade.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://trade.example.com",
        "DATABASE_URL": "postgres://portfolio@db.internal:5432/portfolio",
        "REDIS_URL": "redis://redis.internal:6379/0",
    }
    return clean_environment(**{**defaults, **env})


def manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
