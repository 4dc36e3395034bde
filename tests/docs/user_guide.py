"""The user guide's screenshots: which images docs/user/real-time-updates.md shows."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "user" / "real-time-updates.md"
GUIDE_IMAGES = GUIDE.parent / "img"
# Markdown image links into the guide's img/ folder: ![alt](img/NAME.png)
_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(img/([^)/]+)\.png\)")


def guide_image_names() -> list[str]:
    """The names (without .png) of the images the guide shows, in the guide's order."""
    return _IMAGE_LINK.findall(GUIDE.read_text(encoding="utf-8"))
