"""Database round trips and server time for one live-room join and one contribution, in-process.

    .venv/bin/python bench/live_round_trips.py --database-url postgresql://.../DB [--count 200]

Drives Flask-SocketIO's test client (no sockets, no other load): `--count` guests join a
post-moderated room that already shows `--count` contributions, then each posts one. Prints
the statements sent per join and per contribution (a message of several that psycopg sends
for us, pg_direct, counts as one), how many of a contribution's were sent
while the room's row lock was held, the median time of each and this process's CPU time per
join and per contribution (steadier than time on a shared machine; the test client's part
included). It empties the database's
tables: give it a database of its own.
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Counter:
    """Statements and commits sent on the engine (the pool's pings are not counted), and those
    sent while a room change holds its lock."""

    def __init__(self):
        self.statements = 0
        self.locked = 0
        self.holding = False
        # When a list: the statements' first lines, as sent (--show).
        self.shown = None

    @staticmethod
    def autocommit(connection):
        return connection.connection.dbapi_connection.autocommit

    def __call__(self, connection, _cursor=None, statement="COMMIT", *_args, **_kwargs):
        if connection is not None and statement == "COMMIT" and self.autocommit(connection):
            return  # nothing to send: the message committed its own transaction
        self.statements += 1
        self.locked += self.holding
        if self.shown is not None:
            lock = "locked  " if self.holding else "        "
            self.shown.append(lock + " ".join(statement.split())[:150])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument(
        "--show", action="store_true", help="print the statements of the last join and post"
    )
    args = parser.parse_args()

    from lero_events import broadcast, create_app
    from lero_events.extensions import db, socketio
    from tests.conftest import create_event, create_organiser

    folder = tempfile.mkdtemp()
    app = create_app(
        {
            "DATABASE_URL": args.database_url,
            "INSTANCE_PATH": folder,
            "LIVE_RATE_LIMIT_COUNT": 10**6,
            "LIVE_CONNECTIONS_PER_ADDRESS": 10**6,
            "LIVE_MESSAGES_PER_ADDRESS": "1000000 per 10 seconds",
            "LIVE_CONTRIBUTIONS_PER_ADDRESS": "1000000 per 30 seconds",
            "TESTING": True,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        now = datetime.now(UTC).replace(tzinfo=None)
        event = create_event(
            owner=create_organiser("bench@example.org", "Bench"),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(hours=2),
            allow_guests=True,
        )
        event.moderation = "post"
        slug = event.slug
        db.session.commit()
        counter = Counter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        sa.event.listen(db.engine, "commit", counter)

    original = broadcast.room_change

    def counted_room_change(event, **options):
        manager = original(event, **options)
        enter, leave = manager.__enter__, manager.__exit__

        class Counted:
            def __enter__(self):
                change = enter()
                counter.holding = True  # the lock statement itself counted just before
                counter.locked += 1
                return change

            def __exit__(self, *exc):
                try:
                    return leave(*exc)
                finally:
                    counter.holding = False

        return Counted()

    from lero_events import contributions, pg_direct

    contributions.room_change = counted_room_change
    executed = pg_direct.executed

    def counted_executed(query, values, client_side=False):
        """A message sent through psycopg itself: one round trip, under the lock if it takes
        it (pg_direct.locked_and_committed)."""
        holding = counter.holding
        counter.holding = holding or "FOR UPDATE" in query
        counter(None, statement=query)
        counter.holding = holding
        return executed(query, values, client_side)

    pg_direct.executed = counted_executed

    def guest(n):
        return {"slug": slug, "guest_name": f"Guest {n}", "guest_key": f"bench-{n:08d}-abcdefgh"}

    # A room that already shows what people said: joiners get a full snapshot.
    seed = socketio.test_client(app, namespace="/live", auth=guest(10**7))
    for _ in range(args.count):
        seed.emit(
            "contribute",
            {"client_id": str(uuid.uuid4()), "text": "seed"},
            namespace="/live",
            callback=True,
        )

    joins, posts = [], []
    clients = []
    before = counter.statements
    cpu_started = time.process_time()
    for n in range(args.count):
        if args.show and n == args.count - 1:
            counter.shown = []
        started = time.perf_counter()
        clients.append(socketio.test_client(app, namespace="/live", auth=guest(n)))
        joins.append(time.perf_counter() - started)
    join_statements = (counter.statements - before) / args.count
    join_cpu = (time.process_time() - cpu_started) / args.count
    before, before_locked = counter.statements, counter.locked
    shown_join, counter.shown = counter.shown, None
    cpu_started = time.process_time()
    for client in clients:
        if args.show and client is clients[-1]:
            counter.shown = []
        started = time.perf_counter()
        ack = client.emit(
            "contribute",
            {"client_id": str(uuid.uuid4()), "text": "hello"},
            namespace="/live",
            callback=True,
        )
        posts.append(time.perf_counter() - started)
        assert ack["ok"], ack
    post_cpu = (time.process_time() - cpu_started) / args.count
    post_statements = (counter.statements - before) / args.count
    post_locked = (counter.locked - before_locked) / args.count
    print(
        f"join: {join_statements:.1f} statements, median {statistics.median(joins) * 1000:.1f} ms,"
        f" CPU {join_cpu * 1000:.2f} ms"
    )
    print(
        f"contribution: {post_statements:.1f} statements ({post_locked:.1f} under the room's "
        f"lock, commit included), median {statistics.median(posts) * 1000:.1f} ms, CPU "
        f"{post_cpu * 1000:.2f} ms"
    )
    if args.show:
        print("\nthe last join:", *shown_join, "\nthe last contribution:", *counter.shown, sep="\n")
    for client in clients + [seed]:
        client.disconnect(namespace="/live")


if __name__ == "__main__":
    main()
