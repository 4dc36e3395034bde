"""Typed readers for the environment variables that configure the project."""

import os


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or the default when unset or empty."""
    return os.environ.get(name, "") or default


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean written as 1/0, true/false, yes/no or on/off."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_float(name: str, default: float) -> float:
    """Read a number, failing loudly on garbage instead of silently using the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def env_int(name: str, default: int) -> int:
    """Read an integer, failing loudly on garbage."""
    return int(env_float(name, float(default)))


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]
