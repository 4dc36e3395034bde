"""Rules of the layout no linter checks: trading never imports the stream; modules stay small."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _offenders(package: str, forbidden: tuple[str, ...]) -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if any(
            name == banned or name.startswith(f"{banned}.")
            for name in imported_modules(path)
            for banned in forbidden
        )
    }


def test_trading_never_imports_realtime() -> None:
    offenders = _offenders("trading", ("realtime", "operations"))
    assert not offenders, f"the domain must not know the stream: {sorted(offenders)}"


def test_rollout_is_a_leaf() -> None:
    """The rollout gate is asked by the page, REST and the socket; it asks none of them."""
    offenders = _offenders("rollout", ("trading", "realtime", "operations", "portfolio_stream"))
    assert not offenders, f"rollout must not import the apps that use it: {sorted(offenders)}"


def test_source_modules_stay_small() -> None:
    sources = [
        *ROOT.glob("trading/**/*.py"),
        *ROOT.glob("realtime/**/*.py"),
        *ROOT.glob("rollout/**/*.py"),
        *ROOT.glob("operations/**/*.py"),
        *ROOT.glob("portfolio_stream/**/*.py"),
        *ROOT.glob("static/**/*.js"),
    ]
    too_big = {
        str(path.relative_to(ROOT)): lines
        for path in sources
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not too_big, f"split these by concept: {too_big}"
