"""What every joiner of a room at one seq is told alike, built once per worker and tick.

A crowd arriving at the start (a thousand people in a few seconds) would otherwise ask the
database for the same snapshot, counts and prompt a thousand times. Kept by the room's seq,
so any change to the room (each one moves the seq) makes a new one, and for at most
`LIVE_PRESENCE_SECONDS`, so what changes without a seq (a name erased on another worker) is
seen as soon as presence would show it. An erasure on this worker
drops the room's entry at once.
"""

import threading
import time

from flask import current_app

from . import moderation, presence, signals
from .broadcast import chain_head
from .extensions import db
from .models import Prompt

EXTENSION = "room_snapshots"


class Snapshots:
    """One app's shared room views in this worker, and a lock per room so that a crowd
    missing the same entry builds it once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rooms = {}
        self.building = {}


def snapshots():
    app = current_app._get_current_object()
    return app.extensions.setdefault(EXTENSION, Snapshots())


def shared_view(event, seq, as_harvest=False):
    """The room as everyone sees it at `seq`: the public chain's head, the prompt, the
    moderation counts and the snapshot stream, the latter as the room or as the harvest
    shows it (`as_harvest`, docs/live-protocol.md section 16). Shared: never change what it
    returns."""
    cache = snapshots()
    with cache.lock:
        room_lock = cache.building.setdefault(event.id, threading.Lock())
    with room_lock:
        found = cache.rooms.get((event.id, as_harvest))
        if found is not None and found[0] == seq and found[1] > time.monotonic():
            return found[2]
        view = build(event, seq, as_harvest)
        ttl = float(current_app.config["LIVE_PRESENCE_SECONDS"])
        cache.rooms[(event.id, as_harvest)] = (seq, time.monotonic() + ttl, view)
        return view


def build(event, seq, as_harvest):
    prompt = db.session.get(Prompt, event.current_prompt_id) if event.current_prompt_id else None
    size = int(current_app.config["LIVE_SNAPSHOT_SIZE"])
    return {
        "public_seq": chain_head(event.id, upto=seq),
        "prompt": moderation.prompt_view(prompt),
        "counts": presence.moderation_counts(event.id),
        "stream": moderation.room_stream(event, size, as_harvest),
    }


def forget(event_id):
    for as_harvest in (False, True):
        snapshots().rooms.pop((event_id, as_harvest), None)


@signals.registration_erased.connect
def registration_erased(registration, **_extra):
    forget(registration.event_id)
