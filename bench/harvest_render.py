"""How fast the harvest page renders, and how heavy it is, with 10,000 contributions.

Builds events in a temporary SQLite database (contributions over five prompts, phrases,
resonances, registrations with display names), then renders /events/<slug>/harvest through
the Flask test client several times and prints the median server time and the page weight,
against a 100-contribution baseline measured in the same run, with the page collapsed (the
first N per prompt, "show all" pages) and expanded (everything on one page).

    .venv/bin/python bench/harvest_render.py [--contributions 10000] [--runs 7]
"""

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lero_events import accounts, create_app, events  # noqa: E402
from lero_events.extensions import db  # noqa: E402
from lero_events.models import (  # noqa: E402
    Contribution,
    Event,
    Phrase,
    Prompt,
    Registration,
    Resonance,
)

VOCABULARY = (
    "recovery community hope peer support listen kettle together honest walk step day night "
    "friend family group share trust story strength home work belong time help learn heal"
)
WORDS = VOCABULARY.split()


def sentence(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 30))).capitalize() + "."


def build_event(slug, contributions, rng):
    """An event with `contributions` approved contributions and the rest in proportion."""
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
                ends_at=start + timedelta(hours=3),
            ),
        )
    )
    event.harvest_published = True
    prompts = [Prompt(event_id=event.id, text=f"Prompt {n}: {sentence(rng)}") for n in range(5)]
    db.session.add_all(prompts)
    db.session.commit()

    people = max(10, contributions // 20)
    now = datetime.now(UTC)
    db.session.execute(
        sa.insert(Registration),
        [
            {
                "event_id": event.id,
                "token": uuid.uuid4().hex,
                "name": f"Person {n}",
                "email": f"p{n}-{slug}@example.org",
                "organisation": f"Org {n % 40}",
                "display_name": f"Voice {n}" if n % 3 else "",
                "status": "confirmed",
                "consent_at": now,
                "consent_version": "bench",
            }
            for n in range(people)
        ],
    )
    registration_ids = db.session.scalars(
        sa.select(Registration.id).where(Registration.event_id == event.id)
    ).all()
    db.session.execute(
        sa.insert(Contribution),
        [
            {
                "event_id": event.id,
                "prompt_id": prompts[n % 5].id,
                "registration_id": registration_ids[n % people],
                "author_key": f"r:{registration_ids[n % people]}",
                "client_id": str(uuid.uuid4()),
                "text": sentence(rng),
                "anonymous": n % 7 == 0,
                "status": "approved",
                "featured": n % 100 == 0,
                "created_at": now + timedelta(seconds=n),
            }
            for n in range(contributions)
        ],
    )
    db.session.execute(
        sa.insert(Phrase),
        [
            {"event_id": event.id, "text": sentence(rng), "attribution": f"Speaker {n % 9}"}
            for n in range(max(5, contributions // 20))
        ],
    )
    contribution_ids = db.session.scalars(
        sa.select(Contribution.id).where(Contribution.event_id == event.id)
    ).all()
    db.session.execute(
        sa.insert(Resonance),
        [
            {"contribution_id": cid, "participant_key": f"p{k}"}
            for cid in rng.sample(contribution_ids, len(contribution_ids) // 4)
            for k in range(rng.randint(1, 6))
        ],
    )
    db.session.commit()
    return slug


def measure(client, path, runs):
    times, size = [], 0
    client.get(path)  # warm caches and templates
    for _ in range(runs):
        gc.collect()  # garbage from an earlier, larger page must not land on this one
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        size = len(response.data)
    return statistics.median(times) * 1000, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contributions", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--database-url",
        help="a scratch database to use instead of a temporary SQLite file (emptied first)",
    )
    args = parser.parse_args()
    rng = random.Random(5)

    with tempfile.TemporaryDirectory() as directory:
        app = create_app(
            {
                "DATABASE_URL": args.database_url or f"sqlite:///{directory}/bench.sqlite",
                "SECRET_KEY": "bench",
                "AUTO_MIGRATE": False,
                "ASYNC_MODE": "threading",
                "INSTANCE_PATH": directory,
                "SERVER_NAME": "localhost",
                "RATELIMIT_ENABLED": False,
            }
        )
        database = (
            "SQLite"
            if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
            else ("PostgreSQL")
        )
        with app.app_context():
            db.drop_all()
            db.create_all()
            sizes = {"baseline": args.baseline, "large": args.contributions}
            slugs = {name: build_event(f"bench-{name}", n, rng) for name, n in sizes.items()}
        client = app.test_client()
        defaults = {
            key: app.config.get(key)
            for key in ("HARVEST_SHOWN_PER_PROMPT", "HARVEST_SHOWN_PHRASES")
        }

        print(f"Harvest page render, median of {args.runs} runs (Flask test client, {database})")
        print(f"{'page':<38}{'contributions':>14}{'server ms':>11}{'bytes':>12}")
        results = {}
        for layout in ("expanded (everything)", "collapsed (first N per prompt)"):
            if layout.startswith("expanded"):
                app.config.update(HARVEST_SHOWN_PER_PROMPT=None, HARVEST_SHOWN_PHRASES=None)
            else:
                for key, value in defaults.items():
                    if value is None:
                        app.config.pop(key, None)
                    else:
                        app.config[key] = value
            for name, slug in slugs.items():
                ms, size = measure(client, f"/events/{slug}/harvest", args.runs)
                results[(layout, name)] = (ms, size)
                print(f"{layout:<38}{sizes[name]:>14,}{ms:>11.1f}{size:>12,}")
        for layout in ("expanded (everything)", "collapsed (first N per prompt)"):
            (base_ms, base_size), (ms, size) = (
                results[(layout, "baseline")],
                results[(layout, "large")],
            )
            print(
                f"{layout}: {ms / base_ms:.1f}x the baseline's time, "
                f"{size / base_size:.1f}x its weight"
            )
        with app.app_context():
            prompt_id = db.session.scalar(
                sa.select(Prompt.id)
                .join(Event, Event.id == Prompt.event_id)
                .where(Event.slug == slugs["large"])
            )
        for page in (1, 10):
            ms, size = measure(
                client,
                f"/events/{slugs['large']}/harvest/prompts/{prompt_id}?page={page}",
                args.runs,
            )
            print(f"'show all' page {page:<3} of one prompt {ms:>21.1f} ms {size:>11,} bytes")
        for extension in ("md", "csv", "json"):
            ms, size = measure(
                client,
                f"/events/{slugs['large']}/harvest/export.{extension}",
                max(3, args.runs // 2),
            )
            large = sizes["large"]
            print(
                f"export.{extension:<5} {large:>10,} contributions {ms:>9.1f} ms {size:>11,} bytes"
            )
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


if __name__ == "__main__":
    main()
