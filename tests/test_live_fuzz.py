"""Every live-room event handler fuzzed with Hypothesis: random payloads from a host, a
participant and a viewer each get a clear error or a valid result, never a traceback, and
the room stays consistent (what a client applied by the gap rule is what the database holds).
"""

import logging
import os
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lero_events.contributions import resonance_counts
from lero_events.extensions import db
from lero_events.models import Contribution, Event, RoomUpdate

from .conftest import fresh_app, login
from .live_clients import RoomView, make_room, publish_harvest
from .live_in_process import InProcessClient

EVENTS = [
    "contribute",
    "resonate",
    "catch_up",
    "set_prompt",
    "approve",
    "reject",
    "withdraw",
    "feature",
    "capture_phrase",
    "set_contributions_open",
    "set_moderation",
]
FIELDS = [
    "client_id", "text", "prompt_id", "anonymous", "contribution_id", "featured", "open",
    "mode", "attribution", "last_seq", "own_seq",
]  # fmt: skip
OUR_FAULT = "Something went wrong on our side; please try again."

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=600)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Plausible values too, so fuzzing reaches past the first type check into the domain.
plausible = (
    st.integers(min_value=0, max_value=12)
    | st.sampled_from(["pre", "post", "", " ", "\x00", "x" * 501])
    | st.uuids().map(str)
    | st.text(min_size=1, max_size=40)
)
# Well-formed: every field of the right type, so the fuzz reaches the domain's own rules.
FIELD_VALUES = {
    "client_id": st.uuids().map(str),
    "text": st.text(max_size=520),
    "prompt_id": st.none() | st.integers(min_value=0, max_value=5),
    "anonymous": st.booleans(),
    "contribution_id": st.integers(min_value=0, max_value=16),
    "featured": st.booleans(),
    "open": st.booleans(),
    "mode": st.sampled_from(["pre", "post"]),
    "attribution": st.text(max_size=130),
    "last_seq": st.integers(min_value=0, max_value=300),
    "own_seq": st.integers(min_value=0, max_value=300),
}
NEEDS = {
    "contribute": ["client_id", "text"],
    "resonate": ["contribution_id"],
    "approve": ["contribution_id"],
    "reject": ["contribution_id"],
    "withdraw": ["contribution_id"],
    "feature": ["contribution_id"],
    "set_prompt": ["text"],
    "capture_phrase": ["text"],
    "set_contributions_open": ["open"],
    "set_moderation": ["mode"],
    "catch_up": [],
}


def payloads_for(event):
    needed = {name: FIELD_VALUES[name] for name in NEEDS[event]}
    optional = {name: value for name, value in FIELD_VALUES.items() if name not in needed}
    well_formed = st.fixed_dictionaries(needed, optional=optional)
    return st.one_of(
        values,
        st.dictionaries(st.sampled_from(FIELDS), plausible | values, max_size=6),
        well_formed,
        well_formed,
    )


@pytest.fixture(scope="module")
def fuzz_room(tmp_path_factory):
    """One room for all the fuzzing, with a watcher that applies every frame it is sent."""
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}"
    )
    settings_ = {
        "LIVE_TICK_SECONDS": 0,
        "LIVE_MESSAGES_PER_PERSON": "1000000 per 10 seconds",
        "LIVE_MESSAGES_PER_ADDRESS": "1000000 per 10 seconds",
        "LIVE_CONTRIBUTIONS_PER_ADDRESS": "1000000 per 30 seconds",
        "LIVE_RATE_LIMIT_COUNT": 1_000_000,
    }
    with fresh_app(tmp_path_factory.mktemp("fuzz-app"), database_url, **settings_) as app:
        room = make_room(app)
        publish_harvest(app, room)
        http = app.test_client()
        login(http)
        clients = {
            "host": InProcessClient(app, {"slug": room["slug"], "role": "host"}, http=http),
            "participant": InProcessClient(
                app, {"slug": room["slug"], "token": room["tokens"]["alice"]}
            ),
            "viewer": InProcessClient(app, {"slug": room["slug"], "role": "viewer"}),
        }
        watcher = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["bob"]})
        for client in (*clients.values(), watcher):
            assert client.connected, client.refused
        for n in range(12):
            seed = clients["participant"].call(
                "contribute", {"client_id": str(uuid.uuid4()), "text": f"Seed {n}"}
            )
            if n % 3:
                clients["host"].call("approve", {"contribution_id": seed["id"]})
        yield app, room, clients, watcher


@pytest.mark.parametrize("who", ["host", "participant", "viewer"])
@pytest.mark.parametrize("event", EVENTS)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_payload_gets_a_clear_answer_and_the_room_stays_consistent(
    fuzz_room, caplog, who, event, data
):
    app, room, clients, watcher = fuzz_room
    payload = data.draw(payloads_for(event), label="payload")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        ack = clients[who].call(event, payload)
    assert isinstance(ack, dict) and ack.get("ok") in (True, False), ack
    if ack["ok"] is False:
        assert isinstance(ack["error"], str) and ack["error"], ack
        assert ack["error"] != OUR_FAULT, f"{event} {payload!r} failed on our side"
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [], caplog.text
    assert_consistent(app, room, watcher)


def assert_consistent(app, room, watcher):
    """The watcher's room, built by the gap rule from everything it was sent, is the
    database's: the approved contributions, each with its stored resonance count."""
    view = RoomView(host=False)
    for kind, data in watcher.received():
        if kind == "state":
            view.apply_state(data)
        elif kind == "updates":
            for update in data:
                view.offer(update)
    with app.app_context():
        approved = db.session.scalars(
            sa.select(Contribution.id).where(Contribution.status == "approved")
        ).all()
        counts = resonance_counts(approved)
        event = db.session.get(Event, room["event_id"])
        top = db.session.scalar(sa.select(sa.func.max(RoomUpdate.seq)))
        live_seq = event.live_seq
        db.session.remove()
    assert view.held == [], "a gap the watcher could not close"
    assert {cid: c["resonance_count"] for cid, c in view.shown.items()} == {
        cid: counts.get(cid, 0) for cid in approved
    }
    assert top is None or top <= live_seq
