"""The harvest page's "day in figures", kept up to date for its live viewers.

Counting the figures takes a few queries, so it is never done inside a room change: a change
only marks its room (signals.room_changed), and one loop per worker, started with the worker's
first live-room connection (as presence's), counts each marked room that has viewers at most
once per `LIVE_PRESENCE_SECONDS` and sends them the `figures` event (docs/live-protocol.md
section 9.5). Not stored: a viewer's `state` carries them fresh.
"""

import threading

import sqlalchemy as sa

from .. import signals
from ..broadcast import NAMESPACE, current_seq, viewers_room
from ..extensions import db, socketio
from ..models import Event, LiveConnection
from .gathering import gather_figures

# The kinds of update that can move a figure (resonance, prompts and settings cannot).
COUNTED_KINDS = {"contribution", "phrase"}
_changed = set()
_started = threading.Lock()
_loop_running = False


def figures_message(event):
    """The figures as the protocol sends them, with the room's seq when they were counted."""
    figures = gather_figures(event)
    return {"seq": current_seq(event.id), **{key: value for key, _l, value, _m in figures.rows()}}


@signals.room_changed.connect
def room_changed(event, kinds, **_extra):
    if kinds & COUNTED_KINDS:
        _changed.add(event.id)


def start_loop(app):
    global _loop_running
    with _started:
        if _loop_running:
            return
        _loop_running = True
    socketio.start_background_task(keep_telling, app)


def keep_telling(app):
    interval = float(app.config["LIVE_PRESENCE_SECONDS"])
    while True:
        socketio.sleep(interval)
        rooms = list(_changed)
        _changed.difference_update(rooms)
        with app.app_context():
            for event_id in rooms:
                try:
                    send_figures(event_id)
                except Exception:
                    db.session.rollback()
                    app.logger.exception("harvest figures failed; trying again")
                    _changed.add(event_id)
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
