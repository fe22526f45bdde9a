"""The harvest page's "day in figures", kept up to date for its live viewers.

Counting the figures takes a few queries, so it is never done inside a room change: a change
only marks its room (signals.room_changed), and one loop per worker, started with the worker's
first live-room connection (as presence's), counts each marked room that has viewers at most
once per `LIVE_PRESENCE_SECONDS` and sends them the `figures` event (docs/live-protocol.md
section 9.5). Not stored: a viewer's `state` carries them fresh.
"""

import threading

import sqlalchemy as sa
from flask import current_app

from .. import signals
from ..broadcast import NAMESPACE, current_seq, viewers_room
from ..extensions import db, socketio
from ..models import Event, LiveConnection
from .gathering import gather_figures

# The kinds of update that can move a figure (resonance, prompts and settings cannot).
COUNTED_KINDS = {"contribution", "phrase"}


class WorkerFigures:
    """One app's rooms whose figures are due, and which Socket.IO server its loop serves."""

    def __init__(self):
        self.lock = threading.Lock()
        self.server = None
        self.changed = set()


def bookkeeping(app=None):
    app = app or current_app._get_current_object()
    return app.extensions.setdefault("live_figures", WorkerFigures())


def figures_message(event):
    """The figures as the protocol sends them, with the room's seq when they were counted."""
    figures = gather_figures(event)
    return {"seq": current_seq(event.id), **{key: value for key, _l, value, _m in figures.rows()}}


@signals.room_changed.connect
def room_changed(event, kinds, **_extra):
    if kinds & COUNTED_KINDS:
        bookkeeping().changed.add(event.id)


def start_loop(app):
    state = bookkeeping(app)
    with state.lock:
        if state.server is socketio.server:
            return
        state.server = socketio.server
    socketio.start_background_task(keep_telling, app)


def keep_telling(app):
    """Until the shared socketio object serves another app (tests make one per test)."""
    interval = float(app.config["LIVE_PRESENCE_SECONDS"])
    state = bookkeeping(app)
    while state.server is socketio.server:
        socketio.sleep(interval)
        if state.server is not socketio.server:
            return
        rooms = list(state.changed)
        state.changed.difference_update(rooms)
        with app.app_context():
            for event_id in rooms:
                try:
                    send_figures(event_id)
                except Exception:
                    db.session.rollback()
                    app.logger.exception("harvest figures failed; trying again")
                    state.changed.add(event_id)
            db.session.remove()


def send_figures(event_id):
    watched = db.session.scalar(
        sa.select(LiveConnection.sid)
        .where(LiveConnection.event_id == event_id, LiveConnection.role == "viewer")
        .limit(1)
    )
    event = db.session.get(Event, event_id)
    if watched is None or event is None:
        return
    socketio.emit("figures", figures_message(event), to=viewers_room(event_id), namespace=NAMESPACE)
