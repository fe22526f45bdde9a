"""A burst of contributions that keeps count: what was acked, and what was in flight when a
fault hit, kept to resend with the same client_id as the browser's outbox does."""

import collections
import threading
import time
import uuid

import socketio
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Contribution, Event, RoomUpdate

# Every client of a burst is on loopback: one address, so its limits are lifted.
UNLIMITED = {
    "LERO_LIVE_RATE_LIMIT_COUNT": 10_000,
    "LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS": "10000 per 30 seconds",
    "LERO_LIVE_MESSAGES_PER_ADDRESS": "10000 per 10 seconds",
}


class Burst:
    """Each client posts one contribution after another until stopped or cut off."""

    def __init__(self, clients):
        self.clients = clients
        self.acked = {}  # client_id -> contribution id
        self.in_flight = {}  # client index -> (client_id, text), not acked yet
        self.refusals = []  # error acks, each retried with the same client_id
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def start(self):
        for index in range(len(self.clients)):
            thread = threading.Thread(target=self.post, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def post(self, index):
        """Post line after line. The next line is in flight from the moment the last one is
        acked, so a server killed at any point finds every client with one in flight."""
        n = 0
        with self.lock:
            self.in_flight[index] = (str(uuid.uuid4()), f"client {index} line {n}")
        while not self.stopping.is_set():
            with self.lock:
                client_id, text = self.in_flight[index]
            try:
                ack = self.clients[index].call(
                    "contribute", {"client_id": client_id, "text": text}, 5
                )
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                return  # cut off: the test reconnects and resends what is in flight
            if ack["ok"]:
                n += 1
                with self.lock:
                    self.acked[client_id] = ack["id"]
                    self.in_flight[index] = (str(uuid.uuid4()), f"client {index} line {n}")
            else:
                with self.lock:
                    self.refusals.append(ack["error"])
                time.sleep(0.2)  # an error on our side: try again, same client_id

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while self.count() < count:
            assert time.monotonic() < deadline, (
                f"{self.count()} acked, not {count}: {self.refusals[-3:]}"
            )
            time.sleep(0.02)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)

    def resend_in_flight(self, clients):
        """After reconnecting: what was in flight, again, with the same client_id."""
        for index, (client_id, text) in sorted(self.in_flight.items()):
            ack = clients[index].call("contribute", {"client_id": client_id, "text": text})
            assert ack["ok"] is True, ack
            self.acked[client_id] = ack["id"]
        self.in_flight.clear()


def assert_nothing_lost_or_doubled(app, burst):
    """Every acked contribution stored, each once, under the id its ack gave; one room update
    each, on a gapless sequence."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Contribution.client_id, Contribution.id, Contribution.text)
        ).all()
        seqs = db.session.scalars(sa.select(RoomUpdate.seq).order_by(RoomUpdate.seq)).all()
        live_seq = db.session.scalar(sa.select(Event.live_seq))
        db.session.remove()
    stored = {client_id: contribution_id for client_id, contribution_id, _ in rows}
    lost = set(burst.acked) - set(stored)
    texts = collections.Counter(text for _, _, text in rows)
    assert lost == set(), f"{len(lost)} acked contributions were lost"
    assert [text for text, n in texts.items() if n > 1] == [], "a contribution was doubled"
    assert len(rows) == len(stored) == len(burst.acked), "stored only what was acked"
    assert stored == burst.acked, "each ack named the stored contribution"
    assert seqs == list(range(1, live_seq + 1)) and live_seq == len(rows)
    return sorted(stored.values())
