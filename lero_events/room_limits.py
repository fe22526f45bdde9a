"""Live-room limits per person and per client address, never per connection.

Counted in the rate-limit store the HTTP limits use (Redis with REDIS_URL, so every worker
shares the counts), falling back to this worker's memory while that store does not answer, as
the HTTP limits do. A client address is only ever kept as a keyed hash. Never asked inside a
room's transaction: a Redis round trip (or any switch to another greenlet) must not happen
while the room's row or SQLite's write lock is held.
"""

import hashlib
import hmac
import logging
import time

from flask import current_app
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

# How long to count in memory before asking a store that failed again.
RETRY_STORE_SECONDS = 5
logger = logging.getLogger(__name__)


class RoomLimits:
    """One app's live-room counters: the shared store, and memory while it is down."""

    def __init__(self, config):
        options = config.get("RATELIMIT_STORAGE_OPTIONS") or {}
        self.shared = MovingWindowRateLimiter(
            storage_from_string(config["RATELIMIT_STORAGE_URI"], **options)
        )
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.prefix = config.get("RATELIMIT_KEY_PREFIX") or "lero"
        self.shared_down_until = 0.0

    def hit(self, limit, *identifiers):
        """Count one more under `limit` ("60 per 10 seconds"); False once it is used up."""
        return self.ask("hit", limit, identifiers)

    def test(self, limit, *identifiers):
        """Would one more fit under `limit`? Counts nothing."""
        return self.ask("test", limit, identifiers)

    def ask(self, method, limit, identifiers):
        item = parse(limit)
        key = (self.prefix, "live", *identifiers)
        if time.monotonic() >= self.shared_down_until:
            try:
                return getattr(self.shared, method)(item, *key)
            except Exception:
                logger.warning("live room limits: the rate-limit store is down; counting here")
                self.shared_down_until = time.monotonic() + RETRY_STORE_SECONDS
        return getattr(self.memory, method)(item, *key)


def room_limits():
    app = current_app._get_current_object()
    limits = app.extensions.get("room_limits")
    if limits is None:
        limits = app.extensions["room_limits"] = RoomLimits(app.config)
    return limits


def address_key(address):
    """A client address as it is kept: a keyed hash, enough to count, never to read back."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, (address or "unknown").encode(), hashlib.sha256).hexdigest()[:32]


def allow_message(person_key, address):
    """One message from this person (or anonymous connection) and address: within limits?"""
    config = current_app.config
    limits = room_limits()
    return limits.hit(config["LIVE_MESSAGES_PER_PERSON"], "person", person_key) and limits.hit(
        config["LIVE_MESSAGES_PER_ADDRESS"], "address", address
    )


def contribution_allowed_from(address):
    """Is there room for one more new contribution from this address? Counts nothing."""
    limit = current_app.config["LIVE_CONTRIBUTIONS_PER_ADDRESS"]
    return room_limits().test(limit, "contributions", address)


def count_contribution_from(address):
    """A new contribution from this address was stored."""
    limit = current_app.config["LIVE_CONTRIBUTIONS_PER_ADDRESS"]
    room_limits().hit(limit, "contributions", address)
