"""Sends a task's requests, then kills its own process with SIGKILL right after the last PUBACK.

Prints {"sent": [...], "answered": [...]} first. Used by the reconnect conformance test.
"""

import json
import os
import signal
import sys
import time

import msgpack

from edgesplit_client import ModelDescription, UeClient, encode, encode_tensor

url, prefix, model_file, ue_id = sys.argv[1:5]
ue = UeClient(url, ue_id, ModelDescription.load(model_file), {"uplinkMbps": 200.0, "rttMs": 1.0}, prefix=prefix)
ue.start()
decision = ue.wait_decision(timeout_s=20)
if decision is None or decision["cut"] >= ue.model.last:
    print(f"no offloading decision: {decision}", file=sys.stderr)
    sys.exit(1)
answered: list[str] = []
ue._client.on_message = lambda _c, _u, msg: answered.append(msgpack.unpackb(msg.payload)["requestId"]) if msg.topic.endswith("/result") else None
sent = []
infos = []
for sample in range(8):
    request_id = f"{ue_id}-{sample}"
    message = {
        "requestId": request_id,
        "epoch": decision["epoch"],
        "model": ue.model.model,
        "cut": decision["cut"],
        "sample": sample % ue.model.batch,
        "tensor": encode_tensor(ue.head(decision["cut"], sample)),
        "sentAt": time.time() * 1000,
    }
    infos.append(ue._client.publish(ue.topic("infer"), encode(message), qos=1))
    sent.append(request_id)
for info in infos:
    info.wait_for_publish(10)
print(json.dumps({"sent": sent, "answered": list(answered)}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
