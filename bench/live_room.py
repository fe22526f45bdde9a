"""The live room under load, against the reference Node.js socket.io server in the same run.

    .venv/bin/python bench/live_room.py [--clients 1000] [--rates 2,5,10,25,50] [--workers 2]

N socket.io-client participants (bench/load.mjs, `npm ci` in bench/ first) join one
post-moderated room of a real `python app.py` (SQLite in a temporary folder, or
--database-url), then posters send contributions at rising rates. Printed per rate: p50/p99/max
delivery latency, delivered fraction, deliveries per second, how busy the whole machine was
(all cores, while posting and draining), how many cores the load generator and the server's
workers used meanwhile (a worker near 1.00 is as busy as one process gets), the server's
CPU time per contribution sent (all its workers, while posting and draining), server CPU
seconds and RSS; then the same workload against bench/reference_server.mjs and the ratio.
--workers 2 runs one worker, then two through Redis (--redis-url), and compares the highest
rate each carried. --history N has the room show N contributions before anyone joins, and the
reference server send the same snapshot. Last, it prints issue 9's targets with this run's
figures. Loopback only; each phase is bounded in time.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
TARGET_P99_MS = 250
sys.path.insert(0, str(ROOT))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_room(database_url, instance, history=0):
    """A published, post-moderated event open to guests, happening now, that already shows
    `history` contributions (a crowd arriving late). Returns the database URI, the slug and
    the snapshot's stream a joiner gets, for the reference server to send alike."""
    from lero_events import contributions, create_app, moderation
    from lero_events.extensions import db
    from tests.conftest import create_event, create_organiser

    app = create_app(
        {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "AUTO_MIGRATE": True}
    )
    with app.app_context():
        now = datetime.now(UTC).replace(tzinfo=None)
        event = create_event(
            owner=create_organiser(f"bench-{time.time_ns()}@example.org", "Bench"),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=2),
            title=f"Bench {time.time_ns()}",
            timezone="UTC",
            allow_guests=True,
        )
        event.moderation = "post"
        slug = event.slug
        db.session.commit()
        for number in range(history):
            key = f"early-key-{number:08d}-xxxxxx"
            author = contributions.author_for_guest(event, f"Early {number}", key)
            text = f"Reflection {number}: what the room heard before the crowd arrived"
            contributions.submit_contribution(event, author, str(uuid.uuid4()), text)
        size = int(app.config["LIVE_SNAPSHOT_SIZE"])
        stream = moderation.room_stream(event, size, False)
    return app.config["SQLALCHEMY_DATABASE_URI"], slug, stream


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited early")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def run_load(urls, slug, args, run, server_pids):
    config = {
        "urls": urls,
        "server_pids": server_pids,
        "slug": slug,
        "clients": args.clients,
        "rates": args.rates,
        "seconds": args.seconds,
        "drain": args.drain,
        "run": run,
    }
    budget = 120 + len(args.rates) * (args.seconds + args.drain + 5)
    done = subprocess.run(
        ["node", str(BENCH / "load.mjs"), json.dumps(config)],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=budget,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(processes, load):
    before = sum(cpu_seconds(p.pid) for p in processes)
    result = load()
    result["cpu_seconds"] = sum(cpu_seconds(p.pid) for p in processes) - before
    result["rss_mb"] = sum(rss_mb(p.pid) for p in processes)
    return result


def start_lero(args, workers, database_uri, instance):
    processes, urls = [], []
    for _ in range(workers):
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_uri,
            "LERO_INSTANCE_PATH": str(instance),
            "LERO_PORT": str(port),
            "LERO_ASYNC_MODE": args.async_mode,
            "LERO_AUTO_MIGRATE": "false",
            "LERO_LIVE_RATE_LIMIT_COUNT": "1000000",
            # Every simulated participant comes from 127.0.0.1: lift the per-address caps.
            "LERO_LIVE_CONNECTIONS_PER_ADDRESS": "1000000",
            "LERO_LIVE_MESSAGES_PER_ADDRESS": "1000000 per 10 seconds",
            "LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS": "1000000 per 30 seconds",
            "SECRET_KEY": "bench-secret",
        }
        if workers > 1:
            # One channel for this run's workers, so they reach each other's clients only.
            env.update(REDIS_URL=args.redis_url, LERO_SOCKETIO_CHANNEL=f"bench-{os.getpid()}")
        # The server's log, to read for errors a mass connect or disconnect left behind.
        log = Path(f"{args.server_log}.{len(processes)}").open("w") if args.server_log else None  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=ROOT,
            env=env,
            stdout=log or subprocess.DEVNULL,
            stderr=log or subprocess.DEVNULL,
        )
        wait_for_port(port, process)
        processes.append(process)
        urls.append(f"http://127.0.0.1:{port}")
    return processes, urls


def stop(processes):
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def report(name, result):
    print(
        f"\n{name}: {result['join_seconds']:.2f} s to join, idle ack p50 "
        f"{result['idle_ack_p50_ms']:.1f} ms, CPU {result['cpu_seconds']:.1f} s, "
        f"RSS {result['rss_mb']:.0f} MB"
    )
    print(
        " rate/s  p50 ms  p99 ms  max ms  delivered  deliveries/s  ack p50  dropped"
        "  machine busy  load gen  server  server ms/contribution"
    )
    for row in result["rates"]:
        print(
            f" {row['rate']:6}  {row['p50_ms'] or 0:6.0f}  {row['p99_ms'] or 0:6.0f}  "
            f"{row['max_ms'] or 0:6.0f}  {row['delivered_fraction']:8.1%}  "
            f"{row['deliveries_per_second']:12.0f}  {row['ack_p50_ms'] or 0:7.1f}  "
            f"{row['disconnects']:7}  {row['machine_busy']:12.0%}  "
            f"{row['load_generator_cores']:8.2f}  {row['server_cores']:6.2f}  "
            f"{1000 * row['server_seconds'] / max(row['sent'], 1):22.1f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rates", default="2,5,10,25,50")
    parser.add_argument("--seconds", type=float, default=5, help="posting window per rate")
    parser.add_argument("--drain", type=float, default=3, help="wait after each window")
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        help="contributions the room shows before anyone joins (the reference sends as many)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--async-mode", default="gevent")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--server-log", help="write worker N's stderr to SERVER_LOG.N")
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",")]

    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        database_url = args.database_url or f"sqlite:///{instance / 'bench.sqlite'}"
        lero = {}
        for workers in sorted({1, args.workers}):
            lero[workers] = run_lero(args, workers, database_url, instance)
            report(f"LERO Events ({workers} {args.async_mode} worker(s))", lero[workers])
        node = None
        if not args.skip_reference:
            node = run_reference(args, database_url, instance)
            report("Reference Node.js socket.io server", node)
            print("\nLERO / reference, deliveries per second:")
            for ours, theirs in zip(lero[1]["rates"], node["rates"], strict=True):
                ratio = ours["deliveries_per_second"] / max(theirs["deliveries_per_second"], 1)
                print(f" {ours['rate']:6}/s  {ratio:.2f}")
        print_targets(args, lero, node)


def run_lero(args, workers, database_url, instance):
    """One run against `workers` of ours, in a room of its own."""
    database_uri, slug, _stream = make_room(database_url, instance, args.history)
    processes, urls = start_lero(args, workers, database_uri, instance)
    try:
        return measure(
            processes, lambda: run_load(urls, slug, args, "lero", [p.pid for p in processes])
        )
    finally:
        stop(processes)


def run_reference(args, database_url, instance):
    _database_uri, slug, stream = make_room(database_url, instance, args.history)
    port = free_port()
    # The same snapshot stream in its state, so each join carries as much as ours.
    (instance / "stream.json").write_text(json.dumps(stream, default=str))
    reference = subprocess.Popen(
        ["node", str(BENCH / "reference_server.mjs"), str(port), str(instance / "stream.json")],
        cwd=BENCH,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, reference)
        url = f"http://127.0.0.1:{port}"
        return measure([reference], lambda: run_load([url], slug, args, "node", [reference.pid]))
    finally:
        stop([reference])


def within_target(row):
    """A rate the room carried: p99 under the target, everything delivered, nobody dropped."""
    return (
        row["p99_ms"] is not None
        and row["p99_ms"] < TARGET_P99_MS
        and row["delivered_fraction"] == 1
        and row["disconnects"] == 0
    )


def carried_rate(result):
    """The highest rate carried, counting up until the first one that was not."""
    carried = 0
    for row in result["rates"]:
        if not within_target(row):
            break
        carried = row["rate"]
    return carried


def print_targets(args, lero, node):
    """Issue 9's targets, each with this run's figure and whether it is met."""

    def line(target, figure, met):
        print(f"  {target:<58} {figure:<27} {'met' if met else 'NOT met'}")

    one = lero[1]
    print("\nTargets (issue 9)" + ("" if args.clients == 1000 else ", set for 1,000 clients") + ":")
    line("1,000 joined in under 5 s", f"{one['join_seconds']:.2f} s", one["join_seconds"] < 5)
    at_50 = next((row for row in one["rates"] if row["rate"] == 50), None)
    if at_50 is None:
        print("  (50/s was not among --rates)")
    else:
        figure = (
            f"{at_50['p99_ms'] or 0:.0f} ms, {at_50['delivered_fraction']:.1%}, "
            f"{at_50['disconnects']} dropped"
        )
        line("50/s: p99 under 250 ms, all delivered, no one dropped", figure, within_target(at_50))
        if node is not None:
            theirs = next(row for row in node["rates"] if row["rate"] == 50)
            ratio = at_50["deliveries_per_second"] / max(theirs["deliveries_per_second"], 1)
            line(
                "50/s: deliveries per second at least the reference's", f"{ratio:.2f}x", ratio >= 1
            )
    line(
        "idle acknowledged contribution under 5 ms p50",
        f"{one['idle_ack_p50_ms']:.1f} ms",
        one["idle_ack_p50_ms"] < 5,
    )
    if args.workers > 1:
        alone, together = carried_rate(one), carried_rate(lero[args.workers])
        ratio = together / alone if alone else 0
        line(
            f"{args.workers} workers carry 1.6x one worker's rate (p99 < 250 ms)",
            f"{together:g}/s against {alone:g}/s",
            ratio >= 1.6,
        )
        if together == max(args.rates):
            print("  (the highest rate tried was carried: try higher --rates)")


if __name__ == "__main__":
    main()
