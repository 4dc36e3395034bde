"""A benchmark's report: written as JSON, summarised on stdout, its path on stderr."""

import json
import sys
from pathlib import Path
from typing import Any


def report_publish(
    report: dict[str, Any], out: str | None, summary: str, *, echo_json: bool = False
) -> Path:
    """Write the JSON report (to `out`, else the run directory's report.json), print the
    summary and say where the report went."""
    text = json.dumps(report, indent=2)
    if echo_json:
        print(text)
    target = Path(out) if out else Path(report["run_dir"]) / "report.json"
    target.write_text(text)
    print(summary)
    print(f"report: {target}", file=sys.stderr)
    return target
