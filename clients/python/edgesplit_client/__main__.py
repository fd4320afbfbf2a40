"""python3 -m edgesplit_client: run a UE for N tasks and print a JSON summary on stdout."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .client import DEFAULT_PREFIX, STATS_INTERVAL_S, UeClient
from .keys import derive_ue_key
from .model import ModelDescription


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m edgesplit_client", description=__doc__)
    parser.add_argument("--url", default=os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))
    parser.add_argument("--id", required=True, help="UE id (also the MQTT username)")
    parser.add_argument("--model-file", required=True, help="JSON {model, batch, resultBytes, cuts: [{name, deviceMs, bytes, shape}]}")
    parser.add_argument("--prefix", default=os.environ.get("EDGESPLIT_TOPIC_PREFIX", DEFAULT_PREFIX))
    parser.add_argument("--uplink-mbps", type=float, default=20.0)
    parser.add_argument("--rtt-ms", type=float, default=5.0)
    parser.add_argument("--downlink-mbps", type=float)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--password", default=os.environ.get("EDGESPLIT_UE_KEY"), help="the UE's key or secret")
    parser.add_argument("--fleet-key", default=os.environ.get("EDGESPLIT_UE_FLEET_KEY"), help="derive the key from it")
    parser.add_argument("--ca-file", help="CA certificate for mqtts:// and wss://")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a request is resent")
    parser.add_argument("--wait-decision", type=float, default=10.0, help="seconds to wait for a first decision")
    parser.add_argument(
        "--stats-interval-s",
        type=float,
        default=STATS_INTERVAL_S,
        help="publish ue/{id}/stats this often and once at the end, 0 for never",
    )
    args = parser.parse_args(argv)

    password = args.password or (derive_ue_key(args.fleet_key, args.id) if args.fleet_key else None)
    link = {"uplinkMbps": args.uplink_mbps, "rttMs": args.rtt_ms}
    if args.downlink_mbps is not None:
        link["downlinkMbps"] = args.downlink_mbps
    client = UeClient(
        args.url,
        args.id,
        ModelDescription.load(args.model_file),
        link,
        prefix=args.prefix,
        username=args.id if password else None,
        password=password,
        timeout_s=args.timeout,
        ca_file=args.ca_file,
        stats_interval_s=args.stats_interval_s,
    )
    try:
        client.start()
    except ConnectionError as error:
        print(f"edgesplit_client: {error}", file=sys.stderr)
        return 2
    try:
        client.wait_decision(timeout_s=args.wait_decision)
        tasks = [client.run_task(task) for task in range(args.tasks)]
    finally:
        client.stop()
    summary = {
        "tasks": len(tasks),
        "ok": sum(t.ok for t in tasks),
        "requests": sum(len(t.outputs) for t in tasks if t.cut < client.model.last),
        "offloaded": sum(t.cut < client.model.last for t in tasks),
        "resends": client.tracker.resends,
        "duplicates": client.tracker.duplicates,
        "errors": client.errors,
        "epochs": sorted({d["epoch"] for d in client.decisions}),
    }
    print(json.dumps(summary))
    return 0 if summary["ok"] == summary["tasks"] else 1


if __name__ == "__main__":
    sys.exit(main())
