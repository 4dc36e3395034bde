"""The numbers of bench_stream: client latencies and rates, seq checks, a Markdown summary."""

from typing import Any

from tests.load import harness
from tests.load.stream_clients import CHANNELS, StreamClient


def analyse(
    clients: list[StreamClient], window: tuple[float, float], steady: tuple[float, float]
) -> dict[str, Any]:
    """Latency of every position/account frame that arrived in `window`; frame rates in
    `steady` (the window without its first seconds, while the 1 s windows fill up)."""
    result: dict[str, Any] = {}
    steady_seconds = max(0.001, steady[1] - steady[0])
    for channel in ("positions", "account"):
        newest: list[float] = []
        oldest: list[float] = []
        frames_steady = 0
        events_steady = 0
        batches = 0
        per_client_rates = []
        intervals: list[float] = []
        for client in clients:
            mine = 0
            previous: float | None = None
            for arrived, ch, kind, lat_new, lat_old, n in client.records:
                if ch != channel or not window[0] <= arrived <= window[1]:
                    continue
                newest.append(lat_new)
                oldest.append(lat_old)
                batches += kind == "batch"
                if steady[0] <= arrived <= steady[1]:
                    frames_steady += 1
                    events_steady += n
                    mine += 1
                    if previous is not None:
                        intervals.append(arrived - previous)
                    previous = arrived
            per_client_rates.append(mine / steady_seconds)
        per_client_rates.sort()
        result[channel] = {
            "latency_newest_ms": harness.percentiles(newest),
            "latency_oldest_ms": harness.percentiles(oldest),
            "frames": len(newest),
            "batch_frames": batches,
            "frames_per_client_per_s": round(frames_steady / steady_seconds / len(clients), 2),
            "frames_per_client_per_s_max": round(per_client_rates[-1], 2),
            "events_per_frame": round(events_steady / max(1, frames_steady), 2),
            # Time between one socket's consecutive frames of this channel.
            "frame_interval_ms": harness.percentiles(intervals),
        }
    return result


def seq_counters(clients: list[StreamClient]) -> dict[str, int]:
    return {
        "gaps": sum(c.gaps for c in clients),
        "missing_seqs": sum(c.missing for c in clients),
        "stale_frames": sum(c.stale for c in clients),
        "errors": sum(len(c.errors) for c in clients),
        "closed_sockets": sum(c.close_code is not None for c in clients),
    }


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before.get(key, 0) for key in after}


def sent_by_type(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    prefix = "portfolio_ws_messages_sent_total{"
    sent = {}
    for key, value in after.items():
        if key.startswith(prefix):
            kind = key[len(prefix) :].split('"')[1]
            sent[kind] = int(value - before.get(key, 0.0))
    return {kind: count for kind, count in sent.items() if count}


def final_loss_check(clients: list[StreamClient]) -> dict[str, Any]:
    """Each socket's last seq per channel against the database's: short of it = lost."""
    from trading.models import BrokerAccount

    seqs = {
        pk: {"positions": p, "orders": o, "account": a}
        for pk, p, o, a in BrokerAccount.objects.values_list(
            "pk", "positions_seq", "orders_seq", "account_seq"
        )
    }
    behind = 0
    behind_by = 0
    ahead = 0
    for client in clients:
        expected = seqs[client.trader["account_id"]]
        for channel in CHANNELS:
            seen = client.last_seq.get(channel, -1)
            if seen < expected[channel]:
                behind += 1
                behind_by += expected[channel] - seen
            elif seen > expected[channel]:
                ahead += 1
    return {
        "sockets_x_channels_checked": len(clients) * len(CHANNELS),
        "behind_database": behind,
        "seqs_behind_total": behind_by,
        "ahead_of_database": ahead,
    }


def summary(report: dict[str, Any]) -> str:
    """The report's headline numbers as a Markdown table (the JSON has everything)."""
    memory = report["server_memory"]
    lines = [
        f"users {report['users']}, {report['seconds_per_phase']:.0f} s per phase; "
        f"server RSS {memory['rss_before_connect_kib']} -> {memory['rss_after_connect_kib']} "
        f"KiB = {memory['kib_per_connection']} KiB/connection; setup {report['setup']}",
        "",
        "| phase | ticks/s (target) | holder marks/s | domain events/s | layer msgs/s "
        "| events/msg | pos latency p50/p95/p99 ms | acct latency p50/p95/p99 ms "
        "| pos frames/client/s | acct frames/client/s | gaps | server CPU % | driver CPU % "
        "| client CPU % | others (cores) | publisher drain s |",
        "|" + "---|" * 16,
    ]
    for phase in report["phases"]:
        d, c, cpu = phase["driver"], phase["clients"], phase["cpu_while_ticking"]
        pos, acct = c["positions"]["latency_newest_ms"], c["account"]["latency_newest_ms"]
        pct = cpu["cpu_pct_of_one_core"]

        def trio(p: dict[str, Any]) -> str:
            return f"{p.get('p50')}/{p.get('p95')}/{p.get('p99')}" if p["count"] else "-"

        lines.append(
            f"| {phase['phase']} | {d['achieved_ticks_per_s']} ({d['target_ticks_per_s']:.0f}) "
            f"| {d['holder_marks_per_s']} | {d['domain_events_per_s']} "
            f"| {d['layer_messages_per_s']} | {d['events_per_layer_message']} "
            f"| {trio(pos)} | {trio(acct)} "
            f"| {c['positions']['frames_per_client_per_s']} "
            f"| {c['account']['frames_per_client_per_s']} | {phase['seq']['gaps']} "
            f"| {pct.get('server')} | {pct.get('driver')} | {pct.get('clients')} "
            f"| {cpu['others_cores_busy']} | {d['publisher_drain_s']} |"
        )
    lines += ["", f"final loss check: {report['final_loss_check']}; totals: {report['totals']}"]
    return "\n".join(lines)
