"""SIGKILL of a server mid-burst: nothing acked is lost, nothing is stored twice, and every
client catches up after the restart."""

import pytest

from lero_events.extensions import db
from lero_events.models import Event

from ..live_clients import join, make_room
from .burst import UNLIMITED, Burst, assert_nothing_lost_or_doubled


def post_moderated_room(app):
    room = make_room(app)
    with app.app_context():
        db.session.get(Event, room["event_id"]).moderation = "post"
        db.session.commit()
    return room


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_sigkill_mid_burst_loses_and_doubles_nothing(app, start_server, async_mode):
    room = post_moderated_room(app)
    server = start_server(async_mode, **UNLIMITED)
    who = ["alice", "bob", "guest:Carol", "guest:Dan"]
    clients = [join(server, room, name) for name in who]
    burst = Burst(clients).start()
    burst.wait_for(40)
    server.kill()
    burst.stop()
    assert len(burst.in_flight) == len(who), "every client had one in flight when it died"

    server.start()
    again = [
        join(server, room, name, **old.cursors()) for name, old in zip(who, clients, strict=True)
    ]
    burst.resend_in_flight(again)
    stored = assert_nothing_lost_or_doubled(app, burst)
    for old, new in zip(clients, again, strict=True):
        new.wait_for_view(lambda view: stored[-1] in view.shown and not view.held)
        assert set(old.stream()) | set(new.stream()) == set(stored), "caught up with all"
