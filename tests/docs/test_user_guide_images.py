"""The user guide's images: each one it shows exists and is taken by exactly one browser-test
screenshot (of the demo user, see tests/browser/conftest.py), and no image lies unused."""

import ast
from collections import Counter

from tests.docs.user_guide import GUIDE_IMAGES, REPO_ROOT, guide_image_names

BROWSER_TESTS = REPO_ROOT / "tests" / "browser"


def _screenshot_calls() -> Counter[str]:
    """How often the browser tests call screenshot(page, "NAME", ...), by NAME."""
    names: Counter[str] = Counter()
    for path in sorted(BROWSER_TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "screenshot"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                names[node.args[1].value] += 1
    return names


def test_the_guide_shows_images() -> None:
    assert len(guide_image_names()) >= 10


def test_every_image_the_guide_shows_exists() -> None:
    missing = [name for name in guide_image_names() if not (GUIDE_IMAGES / f"{name}.png").is_file()]
    assert not missing, f"the guide shows images that docs/user/img/ lacks: {missing}"


def test_every_image_in_the_folder_is_shown_by_the_guide() -> None:
    shown = set(guide_image_names())
    orphans = sorted(path.name for path in GUIDE_IMAGES.iterdir() if path.stem not in shown)
    assert not orphans, f"docs/user/img/ holds images the guide does not show: {orphans}"


def test_every_image_the_guide_shows_is_taken_by_one_browser_test() -> None:
    calls = _screenshot_calls()
    wrong = {name: calls[name] for name in guide_image_names() if calls[name] != 1}
    assert not wrong, (
        f"each image the guide shows must come from exactly one screenshot() call in "
        f"tests/browser (UPDATE_DOC_SCREENSHOTS=1 regenerates them); calls by name: {wrong}"
    )
