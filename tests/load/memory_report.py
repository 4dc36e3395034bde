"""The Markdown summary of bench_memory's report."""

from typing import Any


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def summary(report: dict[str, Any]) -> str:
    lines = [f"## bench_memory ({report['started_at']}, load {report['machine']})", ""]
    if report.get("tracemalloc"):
        lines += ["Traced run: the idle phase's RSS includes tracemalloc's own overhead.", ""]
    for name, reading in report.get("start", {}).items():
        lines.append(f"- {name}: {_mib(reading['rss_kib'])} RSS, ready in {reading['ready_s']} s")
    idle = report.get("idle")
    if idle:
        lines += [
            "",
            f"Idle: start {_mib(idle['rss_start_kib'])}, warm {_mib(idle['rss_warm_kib'])}, "
            f"after closing all {_mib(idle.get('rss_after_close_kib'))}",
            "",
            "| sockets | RSS | KiB/socket (over warm) | KiB/socket (marginal) | connect s |",
            "|---|---|---|---|---|",
        ]
        for step in idle["steps"]:
            lines.append(
                f"| {step['sockets']} | {_mib(step['rss_kib'])} | {step['kib_per_socket']} "
                f"| {step['kib_per_socket_marginal']} | {step['connect_s']} |"
            )
        breakdown = idle["breakdown"]
        lines += ["", f"Tasks per socket: {breakdown['tasks_per_socket']}", ""]
        lines += ["| type | per socket | shallow bytes |", "|---|---|---|"]
        for row in breakdown["objects_per_socket"][:15]:
            lines.append(f"| {row['type']} | {row['count']} | {row['shallow_bytes']} |")
        traced = idle.get("traced")
        if traced:
            lines += ["", f"Traced: {traced['traced_kib_per_socket']} KiB per socket", ""]
            lines += [f"By package: {traced['by_group_kib_per_socket']}", ""]
            lines += ["| charged to | KiB/socket |", "|---|---|"]
            for owner, kib in traced["by_owner_kib_per_socket"].items():
                lines.append(f"| {owner} | {kib} |")
    load = report.get("load")
    if load:
        lines += [
            "",
            f"Load: {load['sockets']} sockets, {load['ticks_per_s']} ticks/s "
            f"({load['driver'].get('holder_marks_per_s')} position updates/s), "
            f"{load['frames_per_socket_per_s']} frames/socket/s, gaps {load['gaps']}, "
            f"closed {load['closed_by_server']}",
            f"RSS start {_mib(load['rss_start_kib'])}, connected "
            f"{_mib(load['rss_connected_kib'])}, max {_mib(load['rss_max_kib'])}, "
            f"end {_mib(load['rss_end_kib'])}",
        ]
    return "\n".join(lines)
