"""Conformance of the Python client against a running edgesplit system.

Run by test/client-python.test.ts, which starts the system (embedded broker or Mosquitto with
`edgesplit ingress`, a scheduler and an edge worker) and passes it in the environment:
EDGESPLIT_TEST_MQTT_URL, EDGESPLIT_TEST_PREFIX, EDGESPLIT_TEST_MODEL_FILE and, for the login
test, EDGESPLIT_TEST_FLEET_KEY.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

import msgpack

from edgesplit_client import ModelDescription, UeClient, derive_ue_key, encode, encode_tensor

URL = os.environ.get("EDGESPLIT_TEST_MQTT_URL", "")
PREFIX = os.environ.get("EDGESPLIT_TEST_PREFIX", "edgesplit/v1")
MODEL_FILE = os.environ.get("EDGESPLIT_TEST_MODEL_FILE", "")
FAST_LINK = {"uplinkMbps": 200.0, "rttMs": 1.0}


def client(ue_id: str, **options) -> UeClient:
    return UeClient(URL, ue_id, ModelDescription.load(MODEL_FILE), options.pop("link", FAST_LINK), prefix=PREFIX, **options)


class Conformance(unittest.TestCase):
    def setUp(self) -> None:
        if not URL or not MODEL_FILE:
            self.fail("EDGESPLIT_TEST_MQTT_URL and EDGESPLIT_TEST_MODEL_FILE must name a running system")

    def test_fifty_tasks_are_answered_once_each(self) -> None:
        ue = client(f"py-{os.getpid()}-fifty")
        ue.start()
        try:
            decision = ue.wait_decision(timeout_s=20)
            self.assertIsNotNone(decision, "no decision")
            self.assertLess(decision["cut"], ue.model.last, f"expected an offloading decision, got {decision}")
            self.assertGreater(decision["units"], 0)
            tasks = [ue.run_task(t) for t in range(50)]
        finally:
            ue.stop()
        self.assertEqual([t.task for t in tasks if not t.ok], [])
        output_shape = ue.model.cuts[-1].shape
        for task in tasks:
            self.assertEqual(len(task.outputs), ue.model.batch)
            for output in task.outputs:
                self.assertEqual(tuple(output.shape), output_shape)
        self.assertEqual(ue.tracker.in_flight(), 0)
        self.assertEqual(ue.errors, [])

    def test_a_link_change_is_answered_by_a_new_decision(self) -> None:
        ue = client(f"py-{os.getpid()}-link")
        ue.start()
        try:
            first = ue.wait_decision(timeout_s=20)
            self.assertIsNotNone(first, "no first decision")
            self.assertLess(first["cut"], ue.model.last)
            # 20 kbit/s: uploading any tensor of the model costs seconds, the device far less.
            ue.publish_link(0.02, 50.0)
            later = ue.wait_decision(min_epoch=first["epoch"] + 1, timeout_s=20)
            self.assertIsNotNone(later, "no decision after the link changed")
            self.assertGreater(later["epoch"], first["epoch"])
            self.assertNotEqual(later["cut"], first["cut"])
            task = ue.run_task(0)
            self.assertTrue(task.ok)
        finally:
            ue.stop()

    def test_malformed_requests_are_answered_with_errors_naming_the_problem(self) -> None:
        ue = client(f"py-{os.getpid()}-bad")
        ue.start()
        try:
            ue.publish_raw("infer", b"\xc1")
            wrong = {
                "requestId": "bad-1",
                "epoch": 0,
                "model": ue.model.model,
                "cut": 0,
                "sample": 0,
                "tensor": {"dtype": "float32", "shape": [1, 3], "data": b"\x00" * 8},
                "sentAt": time.time() * 1000,
            }
            ue.publish_raw("infer", encode(wrong))
            self.assertIsNotNone(ue.wait_decision(timeout_s=20), "no decision")
            cut = ue.decision["cut"]
            beyond = {
                **wrong,
                "requestId": "bad-2",
                "epoch": ue.decision["epoch"],
                "cut": cut,
                "sample": ue.model.batch,
                "tensor": encode_tensor(ue.head(cut, 0)),
            }
            ue.publish_raw("infer", encode(beyond))
            ahead = {**beyond, "requestId": "bad-3", "sample": 0, "epoch": ue.decision["epoch"] + 1000}
            ue.publish_raw("infer", encode(ahead))
            self.assertTrue(ue.wait_for(lambda c: len(c.errors) >= 4, 20), f"errors: {ue.errors}")
        finally:
            ue.stop()
        codes = {e["code"] for e in ue.errors}
        self.assertIn("UNDECODABLE", codes)
        invalid = [e for e in ue.errors if e.get("requestId") == "bad-1"]
        self.assertEqual(len(invalid), 1, ue.errors)
        self.assertEqual(invalid[0]["code"], "INVALID_PAYLOAD")
        self.assertTrue(any("infer.tensor.data" in issue for issue in invalid[0]["issues"]), invalid[0])
        beyond = [e for e in ue.errors if e.get("requestId") == "bad-2"]
        self.assertEqual([e["code"] for e in beyond], ["INVALID_PAYLOAD"], ue.errors)
        self.assertTrue(any("infer.sample" in issue for issue in beyond[0]["issues"]), beyond[0])
        ahead = [e for e in ue.errors if e.get("requestId") == "bad-3"]
        self.assertEqual([e["code"] for e in ahead], ["EPOCH_AHEAD"], ue.errors)

    def test_a_killed_client_gets_an_answer_for_each_pending_request_in_its_session(self) -> None:
        ue_id = f"py-{os.getpid()}-kill"
        script = Path(__file__).with_name("send_and_die.py")
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        child = subprocess.run(
            [sys.executable, str(script), URL, PREFIX, MODEL_FILE, ue_id],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(child.returncode, -9, child.stderr)
        sent = json.loads(child.stdout.strip().splitlines()[-1])
        pending = set(sent["sent"]) - set(sent["answered"])
        self.assertGreater(len(pending), 0, "every result arrived before the kill: nothing to test")

        # Each request pending at the kill is answered in the session kept for the client: by its
        # result, or, with Mosquitto (which acknowledged it before the ingress took it), by a
        # retryable error if the UE was offline by then (its will) and so had no units.
        answered: dict[str, str] = {}

        def on_message(_c, _u, msg) -> None:
            if not msg.topic.endswith(("/result", "/error")):
                return  # decisions (an empty one clears it) are not answers
            payload = msgpack.unpackb(msg.payload)
            if msg.topic.endswith("/result"):
                answered.setdefault(payload["requestId"], "result")
            elif msg.topic.endswith("/error") and "requestId" in payload:
                answered.setdefault(payload["requestId"], payload["code"])

        ue = client(ue_id)
        ue._client.on_message = on_message
        ue.start()
        try:
            self.assertTrue(ue.session_present, "the broker did not keep the session")
            deadline = time.monotonic() + 30
            while not pending <= set(answered) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            ue.stop()
        self.assertLessEqual(pending, set(answered), f"pending {pending}, answered {answered}")
        codes = {answered[r] for r in pending}
        self.assertLessEqual(codes, {"result", "NO_UNITS"}, answered)

    def test_a_key_derived_from_the_fleet_key_logs_in_and_a_wrong_one_does_not(self) -> None:
        fleet_key = os.environ.get("EDGESPLIT_TEST_FLEET_KEY")
        if not fleet_key:
            self.fail("EDGESPLIT_TEST_FLEET_KEY must be the broker's fleet key")
        ue_id = f"py-{os.getpid()}-key"
        good = client(ue_id, username=ue_id, password=derive_ue_key(fleet_key, ue_id))
        good.start()
        good.stop()
        self.assertEqual(good.connects, 1)
        bad = client(ue_id, username=ue_id, password=derive_ue_key(fleet_key, ue_id + "x"))
        with self.assertRaises(ConnectionError):
            bad.start(timeout_s=5)


if __name__ == "__main__":
    unittest.main()
