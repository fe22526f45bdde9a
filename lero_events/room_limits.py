"""Live-room limits per person and per client address, never per connection.

Counted in the rate-limit store the HTTP limits use (Redis with REDIS_URL, so every worker
shares the counts), falling back to this worker's memory while that store does not answer, as
the HTTP limits do. A client address is only ever kept as a keyed hash. Never asked inside a
room's transaction: a Redis round trip (or any switch to another greenlet) must not happen
while the room's row or SQLite's write lock is held.

Each limit is a moving window, kept as limits' MovingWindowRateLimiter keeps it (in Redis, a
list of timestamps per key, newest first). What one message asks (its person's and its
address's limits, and whether its address has room for a new contribution) is asked in one
round trip (`ASK_TOGETHER`, a Lua script on limits' own keys); in memory (`MemoryWindows`)
limit by limit, with no switch in between.
"""

import functools
import hashlib
import hmac
import logging
import time
from collections import deque

from flask import current_app, g
from limits import parse
from limits.storage import MemoryStorage, RedisClusterStorage, RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

# How long to count in memory before asking a store that failed again.
RETRY_STORE_SECONDS = 5
# How often MemoryWindows forgets the windows no longer counting anything.
SWEEP_SECONDS = 60
logger = logging.getLogger(__name__)

# KEYS: the windows' lists. ARGV: now, then per key its limit, its seconds, and 1 to count one
# more in it (only if every such window has room) or 0 to ask only. Returns 1 if counted (0
# if not), then per key 1 if it had room for one more.
ASK_TOGETHER = """
local now = tonumber(ARGV[1])
local counted = 1
local room = {}
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[3 * i - 1])
    local oldest = redis.call('lindex', key, limit - 1)
    room[i] = (not oldest or tonumber(oldest) < now - tonumber(ARGV[3 * i])) and 1 or 0
    if ARGV[3 * i + 1] == '1' and room[i] == 0 then
        counted = 0
    end
end
if counted == 1 then
    for i, key in ipairs(KEYS) do
        if ARGV[3 * i + 1] == '1' then
            redis.call('lpush', key, ARGV[1])
            redis.call('ltrim', key, 0, tonumber(ARGV[3 * i - 1]) - 1)
            redis.call('expire', key, ARGV[3 * i])
        end
    end
end
return {counted, unpack(room)}
"""


class RoomLimits:
    """One app's live-room counters: the shared store, and memory while it is down."""

    def __init__(self, config):
        options = config.get("RATELIMIT_STORAGE_OPTIONS") or {}
        self.storage = storage_from_string(config["RATELIMIT_STORAGE_URI"], **options)
        self.memory = MemoryWindows()
        if isinstance(self.storage, MemoryStorage):
            self.shared = self.memory
        else:
            self.shared = MovingWindowRateLimiter(self.storage)
        self.prefix = config.get("RATELIMIT_KEY_PREFIX") or "lero"
        self.shared_down_until = 0.0
        # A Redis Cluster keeps keys of one script call on one node only.
        together = isinstance(self.storage, RedisStorage) and not isinstance(
            self.storage, RedisClusterStorage
        )
        self.script = None
        if together:
            self.script = self.storage.get_connection().register_script(ASK_TOGETHER)

    def hit(self, limit, *identifiers):
        """Count one more under `limit` ("60 per 10 seconds"); False once it is used up."""
        counted, _room = self.ask([(limit, identifiers)], [])
        return counted

    def test(self, limit, *identifiers):
        """Would one more fit under `limit`? Counts nothing."""
        _counted, (room,) = self.ask([], [(limit, identifiers)])
        return room

    def ask(self, counts, tests):
        """Count one more under each of `counts` if every one has room, else under none; and
        say whether each of `tests` has room for one more, counting nothing there. Each is
        (limit, identifiers). Returns (counted, [room for each test])."""
        counts = [(parsed(limit), (self.prefix, "live", *key)) for limit, key in counts]
        tests = [(parsed(limit), (self.prefix, "live", *key)) for limit, key in tests]
        if time.monotonic() >= self.shared_down_until:
            try:
                if self.script is not None:
                    return self.ask_redis(counts, tests)
                return ask_limiter(self.shared, counts, tests)
            except Exception:
                logger.warning("live room limits: the rate-limit store is down; counting here")
                self.shared_down_until = time.monotonic() + RETRY_STORE_SECONDS
        return ask_limiter(self.memory, counts, tests)

    def ask_redis(self, counts, tests):
        """`ask` in one round trip to Redis, on the keys limits' moving window uses."""
        keys, arguments = [], [time.time()]
        for asked, counting in ((counts, 1), (tests, 0)):
            for item, key in asked:
                keys.append(self.storage.prefixed_key(item.key_for(*key)))
                arguments += [item.amount, item.get_expiry(), counting]
        counted, *room = self.script(keys, arguments)
        return bool(counted), [bool(answer) for answer in room[len(counts) :]]


class MemoryWindows:
    """Moving windows in this worker's memory, counted as limits' MovingWindowRateLimiter
    counts them. Not limits' MemoryStorage: it starts a timer thread on most hits, and the
    timer sweeps every key each 10 ms while anything is counted (2.8 ms of CPU a sweep with
    1,000 people in a room, up to a quarter of a worker's time at 50 posts a second). Here a
    window forgets its old hits as it counts, and windows with nothing left to count go in one
    sweep a minute."""

    def __init__(self):
        # Per key, its window's length in seconds and its hits' times, newest first, at most
        # its limit of them.
        self.windows = {}
        self.swept_at = time.time()

    def test(self, item, *identifiers):
        """Would one more hit fit under `item` (a limits RateLimitItem)?"""
        window = self.windows.get(item.key_for(*identifiers))
        return window is None or has_room(window[1], item.amount, time.time() - window[0])

    def hit(self, item, *identifiers):
        """Count one more hit under `item` if it fits; False if it did not."""
        now = time.time()
        if now - self.swept_at > SWEEP_SECONDS:
            self.sweep(now)
        key = item.key_for(*identifiers)
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = (item.get_expiry(), deque(maxlen=item.amount))
        elif not has_room(window[1], item.amount, now - window[0]):
            return False
        window[1].appendleft(now)
        return True

    def sweep(self, now):
        """Forget the windows whose newest hit has left them."""
        self.swept_at = now
        self.windows = {
            key: window for key, window in self.windows.items() if window[1][0] >= now - window[0]
        }


@functools.cache
def parsed(limit):
    """limits' item for a limit's text: parsed once, as every message asks three of them."""
    return parse(limit)


def has_room(hits, amount, window_start):
    """Room for one more among `hits` (newest first), `amount` allowed since `window_start`."""
    return len(hits) < amount or hits[amount - 1] < window_start


def ask_limiter(limiter, counts, tests):
    """`RoomLimits.ask` with a limits strategy, limit by limit: in memory nothing switches to
    another greenlet in between."""
    counted = all(limiter.test(item, *key) for item, key in counts)
    if counted:
        for item, key in counts:
            limiter.hit(item, *key)
    return counted, [limiter.test(item, *key) for item, key in tests]


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
    """One message from this person (or anonymous connection) and address: within limits?
    Counted against both or neither. Whether the address has room for a new contribution is
    asked in the same round trip, for `contribution_allowed_from` in this message."""
    config = current_app.config
    counted, (contribution_room,) = room_limits().ask(
        [
            (config["LIVE_MESSAGES_PER_PERSON"], ("person", person_key)),
            (config["LIVE_MESSAGES_PER_ADDRESS"], ("address", address)),
        ],
        [(config["LIVE_CONTRIBUTIONS_PER_ADDRESS"], ("contributions", address))],
    )
    g.contribution_room = (address, contribution_room)
    return counted


def contribution_allowed_from(address):
    """Is there room for one more new contribution from this address? Counts nothing. The
    answer this message's `allow_message` got, if it asked for this address."""
    asked, room = g.pop("contribution_room", (None, None))
    if asked == address:
        return room
    limit = current_app.config["LIVE_CONTRIBUTIONS_PER_ADDRESS"]
    return room_limits().test(limit, "contributions", address)


def count_contribution_from(address):
    """A new contribution from this address was stored."""
    limit = current_app.config["LIVE_CONTRIBUTIONS_PER_ADDRESS"]
    room_limits().hit(limit, "contributions", address)
