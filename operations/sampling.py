"""This process's Prometheus samples as flat numbers, and their change over trailing windows."""

from collections import deque
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry

Samples = dict[str, float]

# Sample names whose value only grows: their change over a window is meaningful.
_CUMULATIVE_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def sample_key(name: str, labels: dict[str, str]) -> str:
    """`name{a="1",b="2"}` with sorted labels: the exposition form, the same in every process."""
    if not labels:
        return name
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def registry_samples(
    registry: CollectorRegistry = REGISTRY, prefixes: Iterable[str] = ("portfolio_",)
) -> Samples:
    """Every sample of the metric families whose names start with one of `prefixes`."""
    wanted = tuple(prefixes)
    samples: Samples = {}
    for family in registry.collect():
        if not family.name.startswith(wanted):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            samples[sample_key(sample.name, sample.labels)] = float(sample.value)
    return samples


def is_cumulative(key: str) -> bool:
    return key.split("{", 1)[0].endswith(_CUMULATIVE_SUFFIXES)


class WindowTracker:
    """Keeps timestamped copies of the cumulative samples to answer "how much in the last N s".

    Prometheus counters only grow, so a window is the difference between now and the copy
    taken N seconds ago (or the first copy, for a process younger than N seconds).
    """

    def __init__(self, windows_seconds: Iterable[float]) -> None:
        self.windows = tuple(sorted(windows_seconds))
        self._history: deque[tuple[float, Samples]] = deque()

    def observe(self, now: float, samples: Samples) -> dict[str, dict[str, object]]:
        """Record `samples` taken at `now`; the change over each window, by window length."""
        cumulative = {k: v for k, v in samples.items() if is_cumulative(k)}
        self._history.append((now, cumulative))
        longest = self.windows[-1]
        # Keep one copy at least as old as the longest window.
        while len(self._history) > 1 and now - self._history[1][0] >= longest:
            self._history.popleft()
        return {str(int(window)): self._delta(now, cumulative, window) for window in self.windows}

    def _delta(self, now: float, current: Samples, window: float) -> dict[str, object]:
        start_at, start = self._history[0]
        for taken_at, copy in self._history:
            if now - taken_at < window:
                break
            start_at, start = taken_at, copy
        deltas = {}
        for key, value in current.items():
            change = value - start.get(key, 0.0)
            if change:
                deltas[key] = max(change, 0.0)
        return {"seconds": max(now - start_at, 0.0), "deltas": deltas}
