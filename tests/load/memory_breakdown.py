"""Where a server's memory went between two dumps of tests/load/memory_server.py."""

import json
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

# Allocations are charged to the innermost frame outside the standard library, so that the
# deques of an asyncio.Queue count for whoever made the queue: a site-packages package by
# name, a project module by file and line.
PROJECT = ("realtime/", "operations/", "trading/", "portfolio_stream/", "rollout/")


def charge(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):  # most recent call first
        path = frame.filename.replace("\\", "/")
        if "site-packages/" in path:
            return path.split("site-packages/")[1].split("/")[0]
        for package in PROJECT:
            at = path.rfind(f"/{package}")
            if at >= 0:
                return f"{path[at + 1 :]}:{frame.lineno}"
    return "stdlib " + Path(traceback[-1].filename).name


def traced_diff(before: Path, after: Path, per: int, top: int = 25) -> dict[str, Any]:
    """Growth between two tracemalloc snapshots, in KiB per `per` (sockets), by owner and line."""
    old = tracemalloc.Snapshot.load(str(before))
    new = tracemalloc.Snapshot.load(str(after))
    by_owner: Counter[str] = Counter()
    for stat in new.compare_to(old, "traceback"):
        by_owner[charge(stat.traceback)] += stat.size_diff
    by_group: Counter[str] = Counter()
    for name, size in by_owner.items():
        by_group[name.split("/")[0].split(" ")[0]] += size
    lines = new.compare_to(old, "lineno")[:top]
    total = sum(by_owner.values())
    return {
        "traced_kib_per_socket": round(total / 1024 / per, 2),
        "by_group_kib_per_socket": {
            name: round(size / 1024 / per, 2)
            for name, size in by_group.most_common()
            if abs(size) / per >= 64  # the rest is noise between the two snapshots
        },
        "by_owner_kib_per_socket": {
            name: round(size / 1024 / per, 2)
            for name, size in by_owner.most_common(top)
            if abs(size) / per >= 64
        },
        "top_lines_kib_per_socket": [
            {
                "line": f"{s.traceback[0].filename.split('site-packages/')[-1]}:"
                f"{s.traceback[0].lineno}",
                "kib": round(s.size_diff / 1024 / per, 2),
                "blocks": round(s.count_diff / per, 1),
            }
            for s in lines
        ],
    }


def objects_diff(before: Path, after: Path, per: int, top: int = 30) -> dict[str, Any]:
    """Live objects and asyncio tasks gained between two dumps, per `per` (sockets)."""
    old = json.loads(before.read_text())
    new = json.loads(after.read_text())
    growth = []
    for name, (count, size) in new["objects"].items():
        old_count, old_size = old["objects"].get(name, (0, 0))
        if count - old_count >= per // 2:
            growth.append((size - old_size, count - old_count, name))
    growth.sort(reverse=True)
    dicts = []
    for name, (count, size, most) in new.get("instance_dicts", {}).items():
        old_count, old_size, _ = old.get("instance_dicts", {}).get(name, (0, 0, 0))
        if count - old_count >= per // 2:
            dicts.append((size - old_size, count - old_count, most, name))
    dicts.sort(reverse=True)
    tasks = Counter(new["tasks"])
    tasks.subtract(old["tasks"])
    return {
        "rss_kib": [old["rss_kib"], new["rss_kib"]],
        "objects_per_socket": [
            {"type": name, "count": round(n / per, 2), "shallow_bytes": round(b / per)}
            for b, n, name in growth[:top]
        ],
        "instance_dicts_per_socket": [
            {"type": name, "count": round(n / per, 2), "bytes": round(b / per), "attrs": most}
            for b, n, most, name in dicts[:top]
        ],
        "tasks_per_socket": {k: round(v / per, 2) for k, v in tasks.most_common() if v},
        "threads": [old["threads"], new["threads"]],
    }
