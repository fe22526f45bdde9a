"""What approving a busy queue costs: one at a time, against one `moderate_many`.

Fills an event's queue with pending contributions from many people, then approves them through
the domain functions the live room calls: each one in its own transaction (one `approve` per
click), and in batches of up to 100 (`moderate_many`, one transaction, one room update per
item). Prints the median server time per contribution and per host action, and checks both
leave the same gapless room history.

    .venv/bin/python bench/bulk_moderation.py [--queue 100] [--runs 5] [--database-url ...]
"""

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lero_events import accounts, contributions, create_app, events, moderation  # noqa: E402
from lero_events.extensions import db  # noqa: E402
from lero_events.models import RoomUpdate  # noqa: E402


def fill_queue(slug, size):
    """A published event whose queue holds `size` pending contributions from `size` guests."""
    organiser = accounts.find_organiser("bench@example.org") or accounts.create_organiser(
        "bench@example.org", "Bench Organiser", "a long bench password"
    )
    start = datetime.now().replace(second=0, microsecond=0) + timedelta(days=7)
    event = events.publish_event(
        events.create_event(
            organiser,
            events.EventData(
                title=f"Bench {slug}",
                slug=slug,
                timezone="Europe/London",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                allow_guests=True,
            ),
        )
    )
    ids = []
    for number in range(size):
        author = contributions.author_for_guest(event, f"Guest {number}", f"bench-key-{number:08d}")
        contribution, _, _ = contributions.submit_contribution(
            event, author, str(uuid.uuid4()), f"Reflection number {number} from the room"
        )
        ids.append(contribution.id)
    return organiser, event, ids


def one_at_a_time(event, host, ids):
    for contribution_id in ids:
        moderation.approve_contribution(event, host, contribution_id)
    return len(ids)


def in_batches(event, host, ids):
    actions = 0
    for start in range(0, len(ids), moderation.MAX_BULK):
        moderation.moderate_many(event, host, "approve", ids[start : start + moderation.MAX_BULK])
        actions += 1
    return actions


def check_history(event):
    seqs = db.session.scalars(
        sa.select(RoomUpdate.seq).where(RoomUpdate.event_id == event.id).order_by(RoomUpdate.seq)
    ).all()
    assert seqs == list(range(1, len(seqs) + 1)), "the room's history has a gap"
    return len(seqs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--database-url",
        help="a scratch database to use instead of a temporary SQLite file (emptied first)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = create_app(
            {
                "DATABASE_URL": args.database_url or f"sqlite:///{directory}/bench.sqlite",
                "SECRET_KEY": "bench",
                "AUTO_MIGRATE": False,
                "ASYNC_MODE": "threading",
                "INSTANCE_PATH": directory,
                "SERVER_NAME": "localhost",
                # Frames go out at once: the sending is not what this measures.
                "LIVE_TICK_SECONDS": 0,
            }
        )
        database = (
            "SQLite"
            if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
            else ("PostgreSQL")
        )
        results = {"one at a time (approve)": [], "batches of 100 (moderate_many)": []}
        actions = {}
        with app.app_context():
            db.drop_all()
            db.create_all()
            for run in range(args.runs):
                for way, approve in zip(results, (one_at_a_time, in_batches), strict=True):
                    host, event, ids = fill_queue(
                        f"bench-{run}-{len(results[way])}-{way[:3]}", args.queue
                    )
                    before = check_history(event)
                    started = time.perf_counter()
                    actions[way] = approve(event, host, ids)
                    results[way].append(time.perf_counter() - started)
                    assert check_history(event) == before + len(ids)
                    db.session.refresh(event)
                    assert event.live_seq == before + len(ids)
                    # End the read transaction, so its row lock does not stall the next run.
                    db.session.commit()
            db.session.remove()
            db.drop_all()
        print(f"Approving a queue of {args.queue}, median of {args.runs} runs ({database})")
        print(f"{'how':<34}{'host actions':>13}{'total ms':>10}{'ms each':>9}")
        for way, times in results.items():
            total = statistics.median(times) * 1000
            print(f"{way:<34}{actions[way]:>13}{total:>10.0f}{total / args.queue:>9.2f}")


if __name__ == "__main__":
    main()
