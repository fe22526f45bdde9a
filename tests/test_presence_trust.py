"""Presence that cannot be faked or left behind, and limits per person and per address.

Issue 11's findings 4 and 5: a connect that fails writes nothing; a crowd leaving at once
leaves no ghost; one person or one address cannot multiply their limits by opening more
connections or inventing new guest keys; resonance toggles are compacted, not replayed.
"""

import subprocess
import time

import pytest
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import LiveConnection

from .conftest import JS_DIR, node_with
from .live_clients import close_all_clients, join, make_room


@pytest.fixture
def room(app):
    return make_room(app)


@pytest.fixture(autouse=True)
def close_clients():
    yield
    close_all_clients()


def connection_rows(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(LiveConnection.role)).all()
        db.session.remove()
    return rows


CROWD = 200


def test_a_crowd_dropping_at_once_leaves_no_ghost_behind(app, room, start_server):
    node = node_with("socket.io-client")
    server = start_server(LERO_LIVE_CONNECTIONS_PER_ADDRESS=CROWD + 10)
    host = join(server, room, "host")
    crowd = subprocess.Popen(
        [node, str(JS_DIR / "crowd.mjs"), server.url, room["slug"], str(CROWD)],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crowd.stdout.readline().strip() == "ready"
        host.wait_for("presence", lambda p: p["present"] == CROWD, timeout=30)
        before = host.mark()
        crowd.kill()  # every connection drops in the same moment
        host.wait_for("presence", lambda p: p["present"] == 0, timeout=30, after=before)
    finally:
        crowd.kill()
        crowd.wait()
        crowd.stdout.close()
    assert connection_rows(app) == ["host"], "only the host is still connected"
    assert join(server, room, "host").state["present"] == 0
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
