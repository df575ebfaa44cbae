#!/usr/bin/env python3
"""How long a write takes to become an event on the bus in the local flow: the relay and the
Node.js handler side by side.

    .venv/bin/python bench/latency.py --relay BIN --local-bus BIN [--writes N] [--rate R]
                                      [--latency-ms MIN-MAX]

bench/run.py runs it (with the virtualenv's Python: it needs boto3, which moto brings). For each
relay in turn, on a fresh moto (the table and its stream, as `relay dev --provision-only` makes
them) and a fresh local EventBridge that answers each PutEvents after a latency drawn from
MIN-MAX ms (default 5-15, as in production) and records when it accepted each event
(`outbox-local-bus --arrivals`): writes N users (default 10,000; each a `UserCreated`) at R
writes/s (default 100), and measures from each PutItem's answer to its event being accepted on
the bus. The relays: ours behind `relay poll`, the Node handler behind bench/node/poll.mjs with
its own window of 8 requests and seed style (one request at a time). Both pollers follow
Lambda's event source mapping the same way (a batch at 100 records or when its oldest record
has waited the batching window, 1 s, the example's settings; four reads a second of an idle
shard), so what differs is the relay.

What it leaves out: EventBridge's own delivery from the bus to a consumer's queue (AWS's part,
the same for both relays; moto's SQS takes some 70 messages/s and slows as a queue grows, so
through it this would measure moto).

Prints one JSON line per relay: `relay, writes, arrived, missing, p50_ms, p90_ms, p99_ms, max_ms`.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETUP = ("run the test command once (it makes .venv), or "
         "`python3 -m venv .venv && .venv/bin/pip install -r .ci/requirements.txt`")
try:
    import boto3
except ImportError:
    sys.exit(f"bench/latency.py needs boto3 and moto: {SETUP}")

ROOT = Path(__file__).resolve().parent.parent
NODE_POLL = ROOT / "bench" / "node" / "poll.mjs"
TABLE = "app-table"
REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION}
# The relays measured: (name, how its poller starts).
RELAYS = ("rust", "node-conc", "node-seq")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_server():
    found = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(found).exists():
        sys.exit(f"moto_server is not installed: {SETUP}")
    return found


def start_moto():
    port = free_port()
    process = subprocess.Popen([moto_server(), "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("moto_server did not start")


def user(name):
    return {
        "pk": {"S": f"USER#{name}"},
        "sk": {"S": "PROFILE"},
        "email": {"S": f"{name}@example.com"},
        "name": {"S": f"User {name}"},
        "createdAt": {"S": "2026-12-07T10:00:00Z"},
    }


def arrivals(path):
    """userId -> when its event was accepted (ms since the epoch)."""
    seen = {}
    if path.exists():
        for line in path.read_text().splitlines():
            arrival = json.loads(line)
            seen.setdefault(json.loads(arrival["detail"])["userId"], arrival["ms"])
    return seen


def wait_for(path, names, timeout):
    """Waits until every name has arrived or nothing new arrived for `timeout` seconds."""
    last, count = time.monotonic(), -1
    while True:
        seen = arrivals(path)
        arrived = sum(1 for n in names if n in seen)
        if arrived == len(names):
            return seen
        if arrived != count:
            last, count = time.monotonic(), arrived
        elif time.monotonic() - last > timeout:
            return seen
        time.sleep(0.2)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure(relay_name, args, scratch):
    path = scratch / f"arrivals-{relay_name}.jsonl"
    env = dict(os.environ, **CREDENTIALS, NODE_NO_WARNINGS="1")
    env.pop("EVENT_BUS_NAME", None)
    moto, moto_url = start_moto()
    bus = poller = None
    try:
        bus = subprocess.Popen([args.local_bus, "--latency-ms", args.latency_ms, "--seed", "7", "--count-only",
                                "--arrivals", str(path)], stdout=subprocess.PIPE, text=True)
        bus_url = bus.stdout.readline().strip()
        subprocess.run([args.relay, "dev", "--provision-only", "--endpoint", moto_url], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        if relay_name == "rust":
            command = [args.relay, "poll", "--table", TABLE, "--endpoint", moto_url]
            poller_env = dict(env, AWS_ENDPOINT_URL_EVENTBRIDGE=bus_url, RUST_LOG="warn")
        else:
            in_flight = "8" if relay_name == "node-conc" else "1"
            command = ["node", str(NODE_POLL), "--table", TABLE, "--in-flight", in_flight]
            poller_env = dict(env, DYNAMODB_ENDPOINT=moto_url, EVENTBRIDGE_ENDPOINT=bus_url)
        poller = subprocess.Popen(command, env=poller_env, stdout=subprocess.DEVNULL)
        dynamodb = boto3.client("dynamodb", endpoint_url=moto_url, region_name=REGION,
                                aws_access_key_id="bench", aws_secret_access_key="bench")
        # Warm-up: the poller reads the stream and its connections are open.
        dynamodb.put_item(TableName=TABLE, Item=user("warmup"))
        if "warmup" not in wait_for(path, ["warmup"], 30):
            sys.exit(f"{relay_name}: the warm-up write never reached the bus")
        written = {}
        start = time.monotonic()
        for i in range(args.writes):
            pause = start + i / args.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            name = f"u{i}"
            dynamodb.put_item(TableName=TABLE, Item=user(name))
            written[name] = time.time() * 1000
        behind = time.monotonic() - start - args.writes / args.rate
        seen = wait_for(path, list(written), 15)
    finally:
        if poller:
            poller.send_signal(signal.SIGINT)
            try:
                poller.wait(10)
            except subprocess.TimeoutExpired:
                poller.kill()
        if bus:
            bus.terminate()
            bus.wait(10)
        moto.terminate()
        moto.wait(10)
    latencies = [seen[n] - t for n, t in written.items() if n in seen]
    return {
        "relay": relay_name,
        "writes": args.writes,
        "rate": args.rate,
        # How far the writer fell behind its schedule (moto's PutItem is the limit).
        "writer_behind_s": round(behind, 2),
        "arrived": len(latencies),
        "missing": args.writes - len(latencies),
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p90_ms": percentile(latencies, 90) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
        "max_ms": max(latencies) if latencies else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relay", required=True, help="the example's relay binary (with `poll`)")
    parser.add_argument("--local-bus", required=True, help="the outbox-local-bus binary")
    parser.add_argument("--writes", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=100.0, help="writes per second")
    parser.add_argument("--latency-ms", default="5-15", help="PutEvents latency, MIN-MAX ms")
    parser.add_argument("--relays", default=",".join(RELAYS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.relays.split(","):
            result = measure(name, args, Path(scratch))
            print(json.dumps(result), flush=True)
            if result["missing"]:
                sys.exit(f"{name}: {result['missing']} of {args.writes} writes never reached the bus")


if __name__ == "__main__":
    main()
