"""Redis stopped and started again under two workers: changes are still saved and acked,
every client is told that live updates are delayed and, when Redis is back, catches up by the
gap-safe protocol; register and log-in keep working meanwhile; 0 lost, 0 doubled."""

import re
import uuid

import requests
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Contribution, Event

from ..conftest import PASSWORD
from ..live_clients import join, make_room
from .burst import UNLIMITED, Burst, assert_nothing_lost_or_doubled


def delivery_is(live):
    return lambda message: message["live"] is live


def test_redis_stopped_and_started_under_two_workers(app, start_server, throwaway_redis):
    room = make_room(app)
    with app.app_context():
        db.session.get(Event, room["event_id"]).moderation = "post"
        db.session.commit()
    channel = f"lero-faults-{uuid.uuid4()}"
    settings = {
        "REDIS_URL": throwaway_redis.url,
        "LERO_SOCKETIO_CHANNEL": channel,
        "LERO_RATELIMIT_KEY_PREFIX": channel,
        **UNLIMITED,
    }
    workers = [start_server(**settings), start_server(**settings)]
    posters = [join(workers[0], room, "alice"), join(workers[1], room, "guest:Carol")]
    watchers = [join(workers[0], room, "bob"), join(workers[1], room, "guest:Dan")]
    everyone = posters + watchers
    burst = Burst(posters).start()
    burst.wait_for(10)

    marks = [client.mark() for client in everyone]
    throwaway_redis.stop()
    for client, mark in zip(everyone, marks, strict=True):
        notice = client.wait_for("delivery", delivery_is(False), after=mark)
        assert notice["message"].startswith("Live updates from the rest of the room are delayed")
    during = burst.count()
    burst.wait_for(during + 10)  # still saved and acked on both workers
    assert register_and_log_in(workers[0], room) == (303, 302)
    burst.stop()

    marks = [client.mark() for client in everyone]
    throwaway_redis.start()
    for client, mark in zip(everyone, marks, strict=True):
        client.wait_for("delivery", delivery_is(True), timeout=20, after=mark)
        client.catch_up()  # as the protocol says a client does on live: true

    burst.resend_in_flight(posters)
    stored = assert_nothing_lost_or_doubled(app, burst)
    with app.app_context():
        approved = set(
            db.session.scalars(sa.select(Contribution.id).where(Contribution.status == "approved"))
        )
    assert approved == set(stored)
    for client in everyone:
        client.wait_for_view(lambda view: set(view.shown) == approved and not view.held)
    # And the queue carries frames between the workers again.
    said = posters[0].call("contribute", {"client_id": str(uuid.uuid4()), "text": "After"})
    watchers[1].wait_for_update("contribution", lambda d: d["contribution"]["id"] == said["id"])


def register_and_log_in(server, room):
    """A registration and an organiser's log-in through a worker while Redis is down."""
    http = requests.Session()
    registered = http.post(
        f"{server.url}/events/{room['slug']}/register",
        data={
            "csrf_token": csrf(http, server, f"/events/{room['slug']}/register"),
            "name": "Robin Outage",
            "email": "robin.outage@example.org",
            "consent": "y",
        },
        allow_redirects=False,
        timeout=10,
    )
    logged_in = http.post(
        server.url + "/login",
        data={
            "csrf_token": csrf(http, server, "/login"),
            "email": "organiser@example.org",
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=10,
    )
    return registered.status_code, logged_in.status_code


def csrf(http, server, path):
    page = http.get(server.url + path, timeout=10)
    assert page.status_code == 200, page.status_code
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
