"""Rules of the layout that no linter checks: trading never imports realtime; modules stay small."""

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


def test_trading_never_imports_realtime() -> None:
    offenders = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "trading").rglob("*.py")
        if any(
            name == "realtime" or name.startswith("realtime.") for name in imported_modules(path)
        )
    }
    assert not offenders, f"the domain must not know the stream: {sorted(offenders)}"


def test_source_modules_stay_small() -> None:
    sources = [
        *ROOT.glob("trading/**/*.py"),
        *ROOT.glob("realtime/**/*.py"),
        *ROOT.glob("portfolio_stream/**/*.py"),
        *ROOT.glob("static/portfolio/js/*.js"),
    ]
    too_big = {
        str(path.relative_to(ROOT)): lines
        for path in sources
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not too_big, f"split these by concept: {too_big}"
