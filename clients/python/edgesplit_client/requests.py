"""Requests in flight: matched to results by request id, resent with the same id on timeout."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Pending:
    request_id: str
    topic: str
    payload: bytes
    attempts: int = 1
    deadline: float = 0.0
    done: threading.Event = field(default_factory=threading.Event)
    result: dict | None = None
    error: dict | None = None


class RequestTracker:
    """Each request is answered once to the caller: a second result for it is counted, not used."""

    def __init__(self, timeout_s: float, max_attempts: int, resend: Callable[[Pending], None]):
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._resend = resend
        self._lock = threading.Lock()
        self._pending: dict[str, Pending] = {}
        self._settled: set[str] = set()
        self.duplicates = 0
        self.resends = 0

    def add(self, request_id: str, topic: str, payload: bytes) -> Pending:
        with self._lock:
            if request_id in self._pending or request_id in self._settled:
                raise ValueError(f"request id {request_id!r} is already in use")
            entry = Pending(request_id, topic, payload, deadline=time.monotonic() + self._timeout_s)
            self._pending[request_id] = entry
            return entry

    def settle(self, request_id: str, *, result: dict | None = None, error: dict | None = None) -> bool:
        with self._lock:
            entry = self._pending.pop(request_id, None)
            if entry is None:
                if request_id in self._settled:
                    self.duplicates += 1
                return False
            self._settled.add(request_id)
        entry.result, entry.error = result, error
        entry.done.set()
        return True

    def wait(self, entry: Pending) -> Pending:
        """Waits for the answer, resending on each timeout until the attempts run out."""
        while not entry.done.wait(max(0.0, entry.deadline - time.monotonic())):
            if entry.attempts >= self._max_attempts:
                self.settle(entry.request_id, error={"code": "TIMEOUT", "message": "no answer", "issues": []})
                break
            entry.attempts += 1
            entry.deadline = time.monotonic() + self._timeout_s
            self.resends += 1
            self._resend(entry)
        return entry

    def in_flight(self) -> int:
        with self._lock:
            return len(self._pending)

