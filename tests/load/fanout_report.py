"""The numbers of bench_fanout: per server and rate, delivery, latency, CPU; a Markdown table."""

from bisect import bisect_left, bisect_right
from typing import Any

from tests.load import harness

# The bar for "sustained": p99 under this, and every event delivered.
SUSTAINED_P99_MS = 200.0
LABELS = {
    "websockets": "bare websockets",
    "socketio": "python-socketio",
    "product": "product (daphne)",
    "product-uvicorn": "product (uvicorn)",
}


def merge_clients(
    outputs: list[dict[str, Any]],
) -> tuple[list[tuple[float, float]], dict[str, Any]]:
    """Every client process's (sent, arrived) pairs, sorted by send time, and their counts."""
    pairs = sorted(p for out in outputs for p in zip(out["sent"], out["arrived"], strict=True))
    closes: dict[str, int] = {}
    unexpected: dict[str, int] = {}
    for out in outputs:
        for table, key in ((closes, "closed_while_measuring"), (unexpected, "unexpected_frames")):
            for name, count in out[key].items():
                table[name] = table.get(name, 0) + count
    info = {
        "sockets": sum(out["sockets"] for out in outputs),
        "connect_s": max(out["connect_s"] for out in outputs),
        "closed_while_measuring": closes,
        "unexpected_frames": unexpected,
    }
    return pairs, info


def phase_numbers(pairs: list[tuple[float, float]], phase: dict[str, Any]) -> dict[str, Any]:
    """Delivery and latency of the events this phase's driver sent (by their `ts`)."""
    driver = phase["driver"]
    sent = [p[0] for p in pairs]
    # The ts is taken at or after t_start and before t_end; a microsecond of rounding aside.
    low = bisect_left(sent, driver["t_start"] - 1e-3)
    high = bisect_right(sent, driver["t_end"] + 1e-3)
    latencies = [arrived - ts for ts, arrived in pairs[low:high]]
    window = driver["t_end"] - driver["t_start"]
    delivered = high - low
    return {
        "expected": driver["events"],
        "delivered": delivered,
        "delivered_per_s": round(delivered / window, 1) if window > 0 else None,
        "latency_ms": harness.percentiles(latencies),
    }


def best_rounds(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per offered rate, the round with the most delivered and then the lowest p99."""
    best: dict[float, dict[str, Any]] = {}
    for phase in phases:
        key = (-phase["delivered"], phase["latency_ms"].get("p99", float("inf")))
        rate = phase["offered_per_s"]
        other = best.get(rate)
        if other is None or key < (
            -other["delivered"],
            other["latency_ms"].get("p99", float("inf")),
        ):
            best[rate] = phase
    return [best[rate] for rate in sorted(best)]


def sustained(phases: list[dict[str, Any]]) -> float | None:
    """The highest offered rate whose p99 stayed under the bar with nothing lost."""
    good = [
        p["offered_per_s"]
        for p in phases
        if p["delivered"] == p["expected"]
        and p["latency_ms"].get("p99", float("inf")) < SUSTAINED_P99_MS
    ]
    return max(good) if good else None


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table: one row per offered rate, one column group per server."""
    kinds = report["kinds"]
    servers = report["servers"]
    lines = [
        f"{report['sockets']} sockets (one user each), unbatched order_update events round robin "
        f"through Redis, {report['seconds']:g} s per rate"
        + (f", best of {report['rounds']} rounds" if report.get("rounds", 1) > 1 else "")
        + "; latency = client arrival - event ts, ms",
        "",
        "| offered events/s | "
        + " | ".join(f"{LABELS[k]} p50 / p99 / max (delivered)" for k in kinds)
        + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for rate in report["rates"]:
        cells = []
        for kind in kinds:
            phase = next(p for p in servers[kind]["phases"] if p["offered_per_s"] == rate)
            lat = phase["latency_ms"]
            lost = phase["expected"] - phase["delivered"]
            share = f"{phase['delivered']}/{phase['expected']}" if lost else "all"
            cells.append(f"{lat.get('p50')} / **{lat.get('p99')}** / {lat.get('max')} ({share})")
        lines.append(f"| {rate:,.0f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| server | RSS idle before sockets MiB | RSS with sockets, idle MiB | KiB/socket "
        "| RSS at end MiB | server CPU % of a core at each rate | server CPU µs per event "
        "| driver published/s at each rate | client CPU % at each rate "
        "| others' cores busy at each rate | sustained events/s at p99 < 200 ms "
        "| all sockets open in s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        server = servers[kind]
        memory = server["memory"]
        phases = server["phases"]

        def per_rate(key: str, phases: list[dict[str, Any]] = phases) -> str:
            return " / ".join(f"{p[key]}" for p in phases)

        best = server["sustained_per_s"]
        lines.append(
            f"| {LABELS[kind]} | {memory['rss_before_sockets_kib'] / 1024:.0f} "
            f"| {memory['rss_idle_with_sockets_kib'] / 1024:.0f} "
            f"| {memory['kib_per_socket']} | {memory['rss_at_end_kib'] / 1024:.0f} "
            f"| {per_rate('server_cpu_pct')} | {cost_per_event(phases)} "
            f"| {per_rate('published_per_s')} "
            f"| {per_rate('clients_cpu_pct')} | {per_rate('others_cores_busy')} "
            f"| {f'{best:,.0f}' if best else 'none'} | {server['clients']['connect_s']} |"
        )
    if report.get("rounds", 1) > 1:
        lines += ["", *round_by_round(report)]
    machine = report.get("machine", {})
    lines += [
        "",
        f"load average at start {machine.get('loadavg_at_start')}, "
        f"at end {machine.get('loadavg_at_end')} ({machine.get('cpus')} cpus)",
        "",
        targets(report),
    ]
    return "\n".join(lines)


def round_by_round(report: dict[str, Any]) -> list[str]:
    """Every round's p99 ms, with the other processes' cores busy in its window."""
    kinds = report["kinds"]
    lines = [
        "p99 ms round by round (others' cores busy in that window; server CPU µs per event):",
        "",
        "| offered events/s | " + " | ".join(LABELS[k] for k in kinds) + " |",
        "|---|" + "---|" * len(kinds),
    ]
    for rate in report["rates"]:
        cells = []
        for kind in kinds:
            phases = report["servers"][kind].get("all_rounds", [])
            cells.append(
                " / ".join(
                    f"{p['latency_ms'].get('p99')} ({p['others_cores_busy']}; "
                    f"{cost_per_event([p])})"
                    for p in phases
                    if p["offered_per_s"] == rate
                )
            )
        lines.append(f"| {rate:,.0f} | " + " | ".join(cells) + " |")
    return lines


def cost_per_event(phases: list[dict[str, Any]]) -> str:
    """Server CPU per event published at each rate: steadier than latency on a busy machine."""
    costs = []
    for phase in phases:
        cpu, rate = phase.get("server_cpu_pct"), phase["published_per_s"]
        costs.append(f"{cpu * 1e4 / rate:.0f}" if cpu is not None and rate else "-")
    return " / ".join(costs)


def targets(report: dict[str, Any]) -> str:
    """The issue's targets, checked against this run's numbers."""
    servers = report["servers"]
    if not {"product", "socketio", "websockets"} <= set(servers):
        return "targets: need all three servers"

    def p99(kind: str, rate: float) -> float:
        phase = next(p for p in servers[kind]["phases"] if p["offered_per_s"] == rate)
        return float(phase["latency_ms"].get("p99", float("inf")))

    checks = []
    for rate in (r for r in report["rates"] if r in (1000, 3000)):
        ours, theirs = p99("product", rate), p99("socketio", rate)
        checks.append(
            f"p99 at {rate:,.0f}/s: product {ours} vs python-socketio {theirs} ms "
            f"-> {'met' if ours <= theirs else 'NOT met'}"
        )
    ours = servers["product"]["sustained_per_s"] or 0.0
    sio = servers["socketio"]["sustained_per_s"] or 0.0
    bare = servers["websockets"]["sustained_per_s"] or 0.0
    checks.append(
        f"sustained: product {ours:,.0f} vs python-socketio {sio:,.0f} "
        f"-> {'met' if ours >= sio else 'NOT met'}; vs 60 % of bare {0.6 * bare:,.0f} "
        f"-> {'met' if ours >= 0.6 * bare else 'NOT met'} (rates tried: "
        f"{', '.join(f'{r:,.0f}' for r in report['rates'])})"
    )
    return "targets: " + "; ".join(checks)
