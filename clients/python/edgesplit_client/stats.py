"""The tasks a UE finished recently, summarised for its `ue/{id}/stats` message.

The same summary as the TypeScript agent's (docs/protocol.md, "stats"): the tasks that finished
in the last `window_ms`, their measured latency's median and 99th percentile (linear
interpolation between the two nearest ranks, numpy's default), the latest task's measured and
predicted latency, and the tasks finished since the device started.
"""

from __future__ import annotations

import math
import threading
from collections import deque

DEFAULT_WINDOW_MS = 30_000.0
# Most tasks kept per window: a UE finishing more than this summarises its latest ones.
MAX_WINDOW_TASKS = 10_000


def quantile_sorted(values: list[float], q: float) -> float | None:
    """The q-quantile of ascending `values` (linear interpolation); None when empty."""
    if not values:
        return None
    position = (len(values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


class StatsWindow:
    """Finished tasks of the last `window_ms`; `summary` is the `stats` payload. Thread-safe."""

    def __init__(self, window_ms: float = DEFAULT_WINDOW_MS):
        if not 0 < window_ms <= 3_600_000:
            raise ValueError("window_ms must be > 0 and <= 3600000 (one hour)")
        self.window_ms = float(window_ms)
        self._tasks: deque[tuple[float, float, float, bool]] = deque(maxlen=MAX_WINDOW_TASKS)
        self._total = 0
        self._lock = threading.Lock()

    def add(self, at_ms: float, measured_ms: float, predicted_ms: float, ok: bool) -> None:
        with self._lock:
            self._total += 1
            self._tasks.append((at_ms, max(0.0, measured_ms), max(0.0, predicted_ms), ok))

    def summary(self, now_ms: float) -> dict:
        with self._lock:
            while self._tasks and self._tasks[0][0] < now_ms - self.window_ms:
                self._tasks.popleft()
            recent = list(self._tasks)
            total = self._total
        latencies = sorted(task[1] for task in recent)
        last = recent[-1] if recent else None
        return {
            "at": now_ms,
            "windowMs": self.window_ms,
            "tasks": len(recent),
            "failed": sum(1 for task in recent if not task[3]),
            "p50Ms": quantile_sorted(latencies, 0.5),
            "p99Ms": quantile_sorted(latencies, 0.99),
            "lastMs": None if last is None else last[1],
            "predictedMs": None if last is None else last[2],
            "totalTasks": total,
        }
