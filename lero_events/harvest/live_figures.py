"""The harvest page's "day in figures", kept up to date for its live viewers.

Counting the figures takes a few queries, so it is never done inside a room change: a change
only marks its room (signals.room_changed), and one loop per worker (lero_events.room_loops,
the machinery presence's loops use), started with the worker's first live-room connection,
counts each marked room that has viewers at most once per `LIVE_PRESENCE_SECONDS` and sends
them the `figures` event (docs/live-protocol.md section 9.5). Not stored: a viewer's `state`
carries them fresh.
"""

from flask import current_app

from .. import presence, room_loops, signals
from ..broadcast import NAMESPACE, current_seq, viewers_room
from ..extensions import db, socketio
from ..models import Event
from .gathering import gather_figures

# The kinds of update that can move a figure (resonance, prompts and settings cannot).
COUNTED_KINDS = {"contribution", "phrase"}


def changed_rooms(app=None):
    """This app's rooms whose figures are due at the next tick."""
    app = app or current_app._get_current_object()
    return app.extensions.setdefault("live_figures", set())


def figures_message(event):
    """The figures as the protocol sends them, with the room's seq when they were counted."""
    figures = gather_figures(event)
    return {"seq": current_seq(event.id), **{key: value for key, _l, value, _m in figures.rows()}}


@signals.room_changed.connect
def room_changed(event, kinds, **_extra):
    if kinds & COUNTED_KINDS:
        changed_rooms().add(event.id)


def start_loop(app):
    room_loops.start(app, "figures", "LIVE_PRESENCE_SECONDS", tell_rooms)


def tell_rooms():
    changed = changed_rooms()
    rooms = list(changed)
    changed.difference_update(rooms)
    for event_id in rooms:
        try:
            send_figures(event_id)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("harvest figures failed; trying again")
            changed.add(event_id)


def send_figures(event_id):
    event = db.session.get(Event, event_id)
    if event is None or not presence.watched(event_id):
        return
    socketio.emit("figures", figures_message(event), to=viewers_room(event_id), namespace=NAMESPACE)
