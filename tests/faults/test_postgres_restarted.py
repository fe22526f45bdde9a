"""PostgreSQL stopped and started again under a burst: while it is down every contribution
gets a clear error ack and every connect a clear refusal, never a hang or a traceback to the
client; once it is back the resends with the same client_id are stored once; 0 lost,
0 doubled."""

import time

import pytest
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.live import COULD_NOT_LET_IN
from lero_events.models import Event, LiveConnection

from ..conftest import fresh_app
from ..live_clients import join, make_room, refused_message
from .burst import UNLIMITED, Burst, assert_nothing_lost_or_doubled


@pytest.fixture
def app(tmp_path, throwaway_postgres):
    with fresh_app(tmp_path, throwaway_postgres.url) as app:
        yield app


def test_postgres_stopped_and_started_under_a_burst(app, start_server, throwaway_postgres):
    room = make_room(app)
    with app.app_context():
        db.session.get(Event, room["event_id"]).moderation = "post"
        db.session.commit()
        db.engine.dispose()  # the test's own connections would not survive the restart
    server = start_server(**UNLIMITED)
    who = ["alice", "bob", "guest:Carol"]
    clients = [join(server, room, name) for name in who]
    burst = Burst(clients).start()
    burst.wait_for(15)

    throwaway_postgres.stop()
    before = len(burst.refusals)
    deadline_count = burst.count()
    deadline = time.monotonic() + 20
    while len(burst.refusals) < before + 6:
        assert time.monotonic() < deadline, "the outage never showed in an ack"
        time.sleep(0.05)
    assert set(burst.refusals[before:]) == {"Something went wrong on our side; please try again."}
    assert burst.count() == deadline_count, "nothing is acked while nothing can be saved"
    assert refused_message(server, {"slug": room["slug"], "token": room["tokens"]["dee"]}) == (
        COULD_NOT_LET_IN
    )

    throwaway_postgres.start()
    burst.wait_for(deadline_count + 15)  # the same client_ids again, now stored
    burst.stop()
    burst.resend_in_flight(clients)
    stored = assert_nothing_lost_or_doubled(app, burst)
    for client in clients:
        client.wait_for_view(
            lambda view: stored[-1] in view.shown and not view.held, timeout=10, gap_wait=1
        )
    # Rows are written and dropped at the worker's presence tick: give it a few.
    deadline = time.monotonic() + 10
    while True:
        with app.app_context():
            present = sorted(db.session.scalars(sa.select(LiveConnection.role)).all())
            db.session.remove()
        if present == ["guest", "participant", "participant"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert present == ["guest", "participant", "participant"], "no ghost, none lost"
    assert "Traceback" not in "".join(burst.refusals)
