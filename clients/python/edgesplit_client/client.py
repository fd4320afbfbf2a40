"""A UE of an edgesplit fleet: birth and will, profile, link, decisions, head, infer, results,
and the optional `stats` of its recent tasks.

The same contract as the TypeScript agent (docs/protocol.md): a persistent session with a stable
client id, a retained `offline` will, everything QoS 1; status, profile and link re-published on
every (re)connect, since a restarted broker may have lost both the session and retained state.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlparse

import numpy as np
import paho.mqtt.client as mqtt

from . import wire
from .model import ModelDescription
from .requests import RequestTracker
from .stats import DEFAULT_WINDOW_MS, StatsWindow

VERSION = "python-0.1.0"
PROTOCOL = 1  # the protocol version this client speaks (docs/protocol.md, "Versions")
# Codes after which the same request may be sent again (docs/protocol.md, "error").
RETRYABLE = frozenset({"NO_UNITS", "QUEUE_FULL", "UNAVAILABLE", "EPOCH_AHEAD"})
RETRY_PAUSE_S = 0.5
# A UE stating a protocol version republishes its status this often (docs/protocol.md, "status").
STATUS_REFRESH_S = 30.0
# How often a UE publishes `stats` by default, as the TypeScript agent does (docs/protocol.md).
STATS_INTERVAL_S = 2.0
DEFAULT_PREFIX = "edgesplit/v1"

Head = Callable[[int, int], np.ndarray]
"""head(cut, sample) -> the float32 tensor at that cut (at the last cut: the model's output)."""


@dataclass
class TaskResult:
    task: int
    epoch: int | None
    cut: int
    outputs: list[np.ndarray | None]
    errors: list[dict] = field(default_factory=list)
    # Task start to its last result (or its head, when local), and the latency its decision
    # predicted (a local run before any decision: the model on the device).
    measured_ms: float = 0.0
    predicted_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and all(o is not None for o in self.outputs)


class UeClient:
    def __init__(
        self,
        url: str,
        ue_id: str,
        model: ModelDescription,
        link: dict,
        *,
        prefix: str = DEFAULT_PREFIX,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        head: Head | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 4,
        ca_file: str | None = None,
        stats_interval_s: float = STATS_INTERVAL_S,
        stats_window_s: float = DEFAULT_WINDOW_MS / 1000,
    ):
        self.ue_id = ue_id
        self.model = model
        self.link = dict(link)
        self.prefix = prefix
        self.head = head or self._synthetic_head
        self.decision: dict | None = None
        self.decisions: list[dict] = []
        self.errors: list[dict] = []
        self.invalid: list[wire.InvalidMessage] = []
        self.session_present: bool | None = None
        self.connects = 0
        self._run_id = os.urandom(4).hex()
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self._connect_rc: int | None = None
        self._stopping = threading.Event()
        self.tracker = RequestTracker(timeout_s, max_attempts, self._resend)
        # `ue/{id}/stats` every stats_interval_s while connected (0: never), and once at stop.
        self.stats_interval_s = stats_interval_s
        self.stats = StatsWindow(stats_window_s * 1000)

        parsed = urlparse(url)
        transport = "websockets" if parsed.scheme in ("ws", "wss") else "tcp"
        self._client = mqtt.Client(
            client_id=client_id or ue_id, clean_session=False, protocol=mqtt.MQTTv311, transport=transport
        )
        if parsed.scheme in ("mqtts", "wss"):
            self._client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED)
        if username is not None:
            self._client.username_pw_set(username, password)
        self._client.will_set(self.topic("status"), self._status("offline"), qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or {"mqtt": 1883, "mqtts": 8883, "ws": 80, "wss": 443}.get(parsed.scheme, 1883)

    # --- connection -------------------------------------------------------------------------

    def topic(self, channel: str) -> str:
        return f"{self.prefix}/ue/{self.ue_id}/{channel}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Connects, subscribes and announces; raises ConnectionError if the broker refuses."""
        self._client.connect(self._host, self._port, keepalive=30)
        self._client.loop_start()
        self._stopping.clear()
        threading.Thread(target=self._refresh_status, name="status-refresh", daemon=True).start()
        if self.stats_interval_s > 0:
            threading.Thread(target=self._publish_stats_every, name="stats", daemon=True).start()
        if not self._connected.wait(timeout_s):
            self._client.loop_stop()
            rc = self._connect_rc
            raise ConnectionError(
                f"not connected to {self._host}:{self._port}"
                + ("" if rc is None else f": {mqtt.connack_string(rc)} (code {rc})")
            )

    def stop(self, publish_offline: bool = True) -> None:
        """Publishes its last `stats` and `offline` (a clean disconnect cancels the will) and
        disconnects."""
        self._stopping.set()
        if self.stats_interval_s > 0:
            self.publish_stats(wait_s=5)
        if publish_offline and self._client.is_connected():
            info = self._client.publish(self.topic("status"), self._status("offline"), qos=1, retain=True)
            try:
                info.wait_for_publish(5)
            except RuntimeError:
                pass  # the connection dropped meanwhile: the broker publishes the will instead
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, _userdata, flags, rc) -> None:
        self._connect_rc = rc
        if rc != 0:
            # A refused login is final: stop retrying with the same credentials.
            client.disconnect()
            return
        self.connects += 1
        self.session_present = bool(flags.get("session present"))
        client.subscribe([(self.topic(c), 1) for c in ("decision", "result", "error")])
        client.publish(self.topic("status"), self._status("online"), qos=1, retain=True)
        client.publish(self.topic("profile"), wire.encode(self.model.profile()), qos=1, retain=True)
        client.publish(self.topic("link"), wire.encode(self._link_message()), qos=1, retain=True)
        self._connected.set()

    def _refresh_status(self) -> None:
        while not self._stopping.wait(STATUS_REFRESH_S):
            if self._client.is_connected():
                self._client.publish(self.topic("status"), self._status("online"), qos=1, retain=True)

    def _publish_stats_every(self) -> None:
        while not self._stopping.wait(self.stats_interval_s):
            self.publish_stats()

    def publish_stats(self, wait_s: float = 0) -> None:
        """Publishes `ue/{id}/stats` (not retained) if connected: a summary missed offline is
        not worth a queue. With `wait_s`, waits that long at most for the broker's PUBACK."""
        if not self._client.is_connected():
            return
        payload = wire.encode(self.stats.summary(time.time() * 1000), keep_none=True)
        info = self._client.publish(self.topic("stats"), payload, qos=1, retain=False)
        if wait_s > 0:
            try:
                info.wait_for_publish(wait_s)
            except RuntimeError:
                pass  # the connection dropped meanwhile

    def _status(self, state: str) -> bytes:
        return wire.encode({"state": state, "agentVersion": VERSION, "at": time.time() * 1000, "protocol": PROTOCOL})

    def _link_message(self) -> dict:
        return {**self.link, "measuredAt": time.time() * 1000}

    def publish_link(self, uplink_mbps: float, rtt_ms: float, downlink_mbps: float | None = None) -> None:
        self.link = {"uplinkMbps": uplink_mbps, "rttMs": rtt_ms}
        if downlink_mbps is not None:
            self.link["downlinkMbps"] = downlink_mbps
        self._client.publish(self.topic("link"), wire.encode(self._link_message()), qos=1, retain=True).wait_for_publish(5)

    def publish_raw(self, channel: str, payload: bytes) -> None:
        """Publishes bytes as they are on one of the UE's own topics (tools and tests)."""
        self._client.publish(self.topic(channel), payload, qos=1).wait_for_publish(5)

    # --- incoming -------------------------------------------------------------------------------

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        channel = msg.topic.rsplit("/", 1)[-1]
        try:
            value = wire.decode(channel, msg.payload)
        except wire.InvalidMessage as invalid:
            self.invalid.append(invalid)
            return
        if channel == "decision":
            with self._changed:
                # A decision from a lower epoch than one applied is stale (a deposed scheduler).
                if self.decision is None or value["epoch"] >= self.decision["epoch"]:
                    self.decision = value
                    self.decisions.append(value)
                self._changed.notify_all()
        elif channel == "result":
            self.tracker.settle(value["requestId"], result=value)
        elif channel == "error":
            self.errors.append(value)
            request_id = value.get("requestId")
            if request_id is not None:
                if value["code"] not in RETRYABLE or not self.tracker.retry_later(request_id, RETRY_PAUSE_S):
                    self.tracker.settle(request_id, error=value)
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, what: Callable[["UeClient"], bool], timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not what(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def wait_decision(self, min_epoch: int = 0, timeout_s: float = 10.0) -> dict | None:
        ok = self.wait_for(lambda c: c.decision is not None and c.decision["epoch"] >= min_epoch, timeout_s)
        return self.decision if ok else None

    # --- tasks ----------------------------------------------------------------------------------

    def request_id(self, task: int, sample: int) -> str:
        return f"{self._run_id}-{task}-{sample}"

    def run_task(self, task: int) -> TaskResult:
        """Runs one task of `batch` samples under the current decision (local without one)."""
        started = time.monotonic()
        decision = self.decision
        cut = self.model.last if decision is None else min(decision["cut"], self.model.last)
        epoch = None if decision is None else decision["epoch"]
        if decision is None:
            predicted_ms = self.model.batch * self.model.cuts[self.model.last].device_ms
        else:
            predicted_ms = float(decision["predictedMs"])
        if cut == self.model.last:
            outputs = [self.head(cut, s) for s in range(self.model.batch)]
            return self._finish(TaskResult(task, epoch, cut, outputs), started, predicted_ms)
        entries = []
        for sample in range(self.model.batch):
            request_id = self.request_id(task, sample)
            message = {
                "requestId": request_id,
                "epoch": epoch,
                "model": self.model.model,
                "cut": cut,
                "sample": sample,
                "tensor": wire.encode_tensor(self.head(cut, sample)),
                "sentAt": time.time() * 1000,
            }
            entry = self.tracker.add(request_id, self.topic("infer"), wire.encode(message))
            self._client.publish(entry.topic, entry.payload, qos=1)
            entries.append(entry)
        result = TaskResult(task, epoch, cut, [])
        for entry in entries:
            self.tracker.wait(entry)
            result.outputs.append(None if entry.result is None else entry.result["tensor"])
            if entry.error is not None:
                result.errors.append(entry.error)
        return self._finish(result, started, predicted_ms)

    def _finish(self, result: TaskResult, started: float, predicted_ms: float) -> TaskResult:
        result.measured_ms = (time.monotonic() - started) * 1000
        result.predicted_ms = predicted_ms
        self.stats.add(time.time() * 1000, result.measured_ms, predicted_ms, result.ok)
        return result

    def _resend(self, entry) -> None:
        self._client.publish(entry.topic, entry.payload, qos=1)

    def _synthetic_head(self, cut: int, sample: int) -> np.ndarray:
        """Deterministic values of the cut's shape, for a device with no model at hand."""
        seed = int.from_bytes(f"{self.ue_id}/{sample}".encode()[:16].ljust(16, b"\0"), "little") % (2**32)
        return np.random.default_rng(seed).uniform(-1, 1, self.model.cuts[cut].shape).astype("<f4")
