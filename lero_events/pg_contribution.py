"""A new contribution on PostgreSQL in one round trip, the room's lock held only while
PostgreSQL runs it (contributions.submit_contribution).

The ordinary path takes the room's lock, then reads, checks and writes statement by
statement, so the lock is held across four round trips. Each of them waits for the worker to
get a turn again, behind 1,000 other sockets, and every other worker's change to the room
waits behind that. Here, as the booking does (pg_booking), one message sends BEGIN, the
lock, one statement and COMMIT. The statement makes every check the ordinary path makes,
under the lock: the room is open, not cancelled and not ended; the author accepted the
agreement, holds a place and has not sent too many lately; the question has been heard; the
client_id is new. Only if all of them hold does it write the contribution and its room
update, numbered from the locked row, and return the update's seq, the previous seq on its
chain, and the room and the registration as it saw them.

When it writes nothing, the ordinary path runs and answers as it always has: a resend, a
closed room, a refusal with its own message. So this path never decides anything the
ordinary one would decide differently; it only skips the round trips when all is well.
"""

from dataclasses import dataclass

from . import pg_direct
from .models import Event, Registration

# The room's checks, each as its ordinary counterpart makes it (named beside it), read after
# the lock: a statement sees what was committed before it began. The agreement's text counts
# as empty only when it is empty after trimming ASCII whitespace, which is never more often
# than Python's strip says so: at worst the ordinary path runs and answers.
CONTRIBUTE = f"""
WITH room AS (
    SELECT {pg_direct.columns_of(Event, "event")},
        CASE WHEN event.moderation = 'post' THEN 'approved' ELSE 'pending' END AS new_status
    FROM event
    WHERE event.id = %(event_id)s
        -- contributions_closed_reason
        AND event.status <> 'cancelled'
        AND event.ends_at >= %(ended_before)s
        AND event.contributions_open
        -- agreement.require_accepted
        AND (
            btrim(coalesce(event.room_agreement, ''), E' \\t\\n\\r\\f\\v') = ''
            OR EXISTS (
                SELECT FROM room_agreement_acceptance AS accepted
                WHERE accepted.event_id = event.id AND accepted.person_key = %(author_key)s
            )
        )
        -- contributions.SAVED_ID: a resend is answered by the ordinary path
        AND NOT EXISTS (
            SELECT FROM contribution AS saved
            WHERE saved.event_id = event.id AND saved.client_id = %(client_id)s
        )
        -- contributions.RECENT_COUNT and check_rate_limit
        AND (
            SELECT count(*) FROM contribution AS recent
            WHERE recent.event_id = event.id AND recent.author_key = %(author_key)s
                AND recent.created_at > %(since)s
        ) < %(rate_limit)s
        -- visibility.prompt_heard
        AND (
            %(prompt_id)s::integer IS NULL OR EXISTS (
                SELECT FROM prompt
                WHERE prompt.id = %(prompt_id)s AND prompt.event_id = event.id
                    AND (NOT prompt.prepared OR prompt.asked_at IS NOT NULL)
            )
        )
), author AS (
    -- contributions.check_still_registered (places.holds_place)
    SELECT {pg_direct.columns_of(Registration, "registration")}
    FROM registration
    WHERE registration.id = %(registration_id)s
        AND registration.status = 'confirmed' AND registration.erased_at IS NULL
), allowed AS (
    SELECT * FROM room
    WHERE %(registration_id)s::integer IS NULL OR EXISTS (SELECT FROM author)
), bumped AS (
    UPDATE event SET live_seq = allowed.live_seq + 1
    FROM allowed WHERE event.id = allowed.id
    RETURNING event.live_seq
), written AS (
    INSERT INTO contribution (
        event_id, prompt_id, registration_id, guest_name, author_key, client_id, text,
        anonymous, sharing, status, featured, created_at, moderated_at, taken_down_at,
        held_back_reason, redacted
    )
    SELECT
        %(event_id)s, %(prompt_id)s, %(registration_id)s, %(guest_name)s, %(author_key)s,
        %(client_id)s, %(text)s, %(anonymous)s, %(sharing)s, allowed.new_status, false,
        %(now)s, CASE WHEN allowed.new_status = 'approved' THEN %(now)s END, NULL, '', ''
    FROM allowed
    RETURNING id
), stored AS (
    -- contributions.record_contribution: public when approved, else on the author's chain
    INSERT INTO room_update (event_id, seq, kind, payload, audience, author_key, created_at)
    SELECT
        %(event_id)s, bumped.live_seq, 'contribution',
        json_build_object('contribution', json_build_object('id', written.id)),
        CASE WHEN allowed.new_status = 'approved' THEN 'all' ELSE 'hosts' END,
        CASE WHEN allowed.new_status = 'approved' THEN NULL ELSE %(author_key)s END,
        %(now)s
    FROM allowed, bumped, written
)
-- The chain's head before this update (broadcast.chain_head): the statement does not see
-- what it inserts.
SELECT
    written.id, bumped.live_seq, allowed.new_status,
    CASE WHEN allowed.new_status = 'approved' THEN (
        SELECT max(seq) FROM room_update
        WHERE event_id = %(event_id)s AND audience = 'all' AND author_key IS NULL
    ) ELSE (
        SELECT max(seq) FROM room_update
        WHERE event_id = %(event_id)s AND audience = 'hosts' AND author_key = %(author_key)s
    ) END,
    {pg_direct.columns_of(Event, "allowed")},
    {pg_direct.columns_of(Registration, "author")}
FROM allowed CROSS JOIN bumped CROSS JOIN written LEFT JOIN author ON true
"""  # noqa: S608 (column names from the models)
# CONTRIBUTE's values, in the order its prepared statement takes them.
PARAMETERS = (
    ("event_id", "integer"),
    ("prompt_id", "integer"),
    ("registration_id", "integer"),
    ("guest_name", "text"),
    ("author_key", "text"),
    ("client_id", "text"),
    ("text", "text"),
    ("anonymous", "boolean"),
    ("sharing", "text"),
    ("now", "timestamp"),
    ("since", "timestamp"),
    ("ended_before", "timestamp"),
    ("rate_limit", "integer"),
)


@dataclass(frozen=True)
class Contributed:
    """What CONTRIBUTE wrote: the contribution's id and status, its room update's seq and
    the previous seq on its chain, and the room and the registration as it read them."""

    id: int
    status: str
    seq: int
    prev: int
    event: Event
    registration: Registration | None


def contribute(row, since, ended_before, rate_limit):
    """CONTRIBUTE for the new contribution `row` (contributions.contribution_row, its status
    and moderation time decided under the lock): Contributed, or None when it wrote nothing
    and the ordinary path must run instead. The caller commits or rolls back the session."""
    pg_direct.autocommit_connection()
    values = {
        **row,
        "now": pg_direct.naive_utc(row["created_at"]),
        "since": pg_direct.naive_utc(since),
        "ended_before": pg_direct.naive_utc(ended_before),
        "rate_limit": rate_limit,
    }
    found = pg_direct.locked_and_committed_prepared(
        pg_direct.LOCK_EVENT, "lero_contribute", CONTRIBUTE, PARAMETERS, values
    )
    if found is None:
        return None
    contribution_id, seq, status, prev = found[:4]
    event_end = 4 + len(pg_direct.EVENT_LOADERS)
    event_values = pg_direct.column_values(pg_direct.EVENT_LOADERS, found[4:event_end])
    event = pg_direct.loaded(Event, {**event_values, "live_seq": seq})
    registration = None
    if row["registration_id"] is not None:
        values = pg_direct.column_values(pg_direct.REGISTRATION_LOADERS, found[event_end:])
        registration = pg_direct.loaded(Registration, values)
    return Contributed(contribution_id, status, seq, prev or 0, event, registration)
