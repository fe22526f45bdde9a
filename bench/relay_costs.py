"""What sharing Redis costs a worker per frame and per contribution, in CPU, against
python-socketio's and limits' own ways in the same run.

    .venv/bin/python bench/relay_costs.py [--redis-url redis://127.0.0.1:6379/0] [--count 3000]

In this process, without the noise of a load generator on the same cores:
- receiving another worker's frame: python-socketio's JSON message (decoded, then encoded again
  as a packet, as `PubSubManager._thread` and `_handle_emit` do) against our relayed packet
  (`BoundedRedisManager.relayed`); to a room with no member here, so only the relay's own work
  is counted (writing to each member costs the same either way);
- publishing a frame: python-socketio's `RedisManager._publish` (its JSON, one round trip each)
  against ours (the packet text, everything waiting in one round trip), with one or four
  frames a tick and 2 ms between ticks;
- a contribution's live-room limits: limits' MovingWindowRateLimiter asked four times (the
  person's and the address's message limits, the address's contribution limit tested and then
  counted) against `room_limits`' one ask and one count.
Under gevent, as `python app.py` runs. Printed: CPU microseconds per operation and wall time.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import socketio as python_socketio  # noqa: E402
from limits import parse  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lero_events.room_limits import RoomLimits  # noqa: E402
from lero_events.serving import BoundedRedisManager, relay_message  # noqa: E402

NAMESPACE = "/live"
# Between two ticks' frames (a busy room's sender does other work meanwhile): longer than a
# round trip to Redis on this machine, so each tick's frames are published on their own.
TICK_GAP_SECONDS = 0.002
ROOM = "live:1:crowd"
UPDATE = {
    "seq": 2,
    "prev": 0,
    "chain": "public",
    "kind": "contribution",
    "data": {
        "contribution": {
            "id": 1,
            "client_id": str(uuid.uuid4()),
            "text": "Said on worker B, for the hosts first, and a little more to read " * 2,
            "author": "Alice A",
            "anonymous": False,
            "sharing": "anonymous",
            "hidden": False,
            "status": "approved",
            "featured": False,
            "prompt_id": None,
            "resonance_count": 0,
            "created_at": "2026-12-03T10:58:53.281165+00:00",
            "held_back_reason": "",
            "redacted": [],
        }
    },
}


def measured(count, work):
    """(CPU microseconds, wall microseconds) per operation of `work(count)`."""
    cpu, wall = time.process_time(), time.perf_counter()
    work(count)
    return (
        1e6 * (time.process_time() - cpu) / count,
        1e6 * (time.perf_counter() - wall) / count,
    )


def manager_with_a_member(redis_url, channel):
    """Our manager on a real python-socketio server, with one connection in the namespace (so
    frames are encoded) and none in ROOM."""
    manager = BoundedRedisManager(redis_url, channel=channel, write_only=True)
    server = python_socketio.Server(client_manager=manager, async_mode="gevent")
    manager.initialize()
    manager.connect("eio-bench", NAMESPACE)
    return server, manager


def receiving(manager):
    data = [[UPDATE]]
    upstream = json.dumps(
        {
            "method": "emit",
            "event": "updates",
            "data": data,
            "binary": False,
            "namespace": NAMESPACE,
            "room": ROOM,
            "skip_sid": None,
            "callback": None,
            "host_id": "another-worker",
        }
    ).encode()
    text = manager.packet_text("updates", [UPDATE], NAMESPACE)
    relayed = relay_message("another-worker", NAMESPACE, ROOM, None, text.encode())

    def upstream_way(count):
        for _ in range(count):
            manager._handle_emit(manager.json.loads(upstream))

    def our_way(count):
        for _ in range(count):
            manager.relayed(relayed)

    return upstream_way, our_way


def publishing(manager, per_tick):
    """`per_tick` frames emitted together (a tick's), then the next tick's."""
    text = manager.packet_text("updates", [UPDATE], NAMESPACE)

    def upstream_way(count):
        message = {"method": "emit", "event": "updates", "data": [[UPDATE]], "room": ROOM}
        for n in range(count):
            python_socketio.RedisManager._publish(manager, message)
            if n % per_tick == per_tick - 1:
                time.sleep(TICK_GAP_SECONDS)

    def our_way(count):
        for n in range(count):
            payload = text.encode()
            manager.publish_bytes(relay_message(manager.host_id, NAMESPACE, ROOM, None, payload))
            if n % per_tick == per_tick - 1:
                # The next tick: the publisher has sent this one's frames by then.
                time.sleep(TICK_GAP_SECONDS)
        while manager.publishing:
            time.sleep(0.001)

    def ticks_only(count):
        for n in range(count):
            if n % per_tick == per_tick - 1:
                time.sleep(TICK_GAP_SECONDS)

    return upstream_way, our_way, ticks_only


def limiting(redis_url):
    prefix = f"bench-{uuid.uuid4()}"
    limits = RoomLimits({"RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_KEY_PREFIX": prefix})
    messages, contributions = "100000 per 10 seconds", "100000 per 30 seconds"
    person, address, contribution = parse(messages), parse(messages), parse(contributions)

    def upstream_way(count):
        key = (prefix, "live")
        for _ in range(count):
            limits.shared.hit(person, *key, "person", "upstream")
            limits.shared.hit(address, *key, "address", "upstream")
            limits.shared.test(contribution, *key, "contributions", "upstream")
            limits.shared.hit(contribution, *key, "contributions", "upstream")

    def our_way(count):
        for _ in range(count):
            limits.ask(
                [(messages, ("person", "ours")), (messages, ("address", "ours"))],
                [(contributions, ("contributions", "ours"))],
            )
            limits.hit(contributions, "contributions", "ours")

    return upstream_way, our_way


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    channel = f"bench-relay-{uuid.uuid4()}"
    _server, manager = manager_with_a_member(args.redis_url, channel)
    print(f"{'per operation':45} {'upstream CPU us':>16} {'ours CPU us':>12} {'ours/upstream':>14}")
    for name, (upstream_way, our_way, *idle) in (
        ("receive another worker's frame", receiving(manager)),
        ("publish a frame, one a tick", publishing(manager, 1)),
        ("publish a frame, four a tick", publishing(manager, 4)),
        ("a contribution's live-room limits", limiting(args.redis_url)),
    ):
        upstream_way(200), our_way(200)  # warm up: connections, scripts loaded
        # The waits between ticks cost CPU too (gevent's hub): left out of both.
        waiting = measured(args.count, idle[0]) if idle else (0, 0)
        upstream = [a - b for a, b in zip(measured(args.count, upstream_way), waiting, strict=True)]
        ours = [a - b for a, b in zip(measured(args.count, our_way), waiting, strict=True)]
        print(
            f"{name:45} {upstream[0]:16.1f} {ours[0]:12.1f} {ours[0] / upstream[0]:14.2f}"
            f"   (wall {upstream[1]:.0f} / {ours[1]:.0f} us)"
        )


if __name__ == "__main__":
    main()
