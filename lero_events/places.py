"""Whether a registration holds a place: one rule for joining the live room, posting in it,
the video link, calendar invites, the hosts' counts and the evidence.

Statuses: confirmed (holds a place), waitlisted (waiting for one), cancelled. Erasure keeps
the row and cancels it (see registrations.erase_registration). Counting goes by `status`
alone, which erasure and the retention purge both keep, so counts stay right afterwards.

Anyone may "book" any address, and booking one that is already booked changes nothing, so an
exact public count of places left would tell a stranger who is booked (docs/security.md,
finding 1). Public pages show only a band (`availability`); hosts see the exact figure.
"""

import sqlalchemy as sa

from .models import Registration

CONFIRMED = "confirmed"
WAITLISTED = "waitlisted"
CANCELLED = "cancelled"
# Statuses that still hold or wait for a place.
ACTIVE = (CONFIRMED, WAITLISTED)

AVAILABLE = "available"
FEW_LEFT = "few"
FULL = "full"
# "A few places left" from this many places left (or a tenth of the places, if more).
FEW_PLACES = 3


def holds_place(registration):
    """True when this registration is a confirmed, not erased, place: it may join and post."""
    return registration.status == CONFIRMED and registration.erased_at is None


def holding_place():
    """`holds_place` as a query condition on Registration."""
    return sa.and_(Registration.status == CONFIRMED, Registration.erased_at.is_(None))


def status_of(registration):
    """The status as hosts read it: erased registrations show as erased, whatever came before."""
    return "erased" if registration.erased_at is not None else registration.status


def availability(capacity, places_left):
    """What the public is told about places: AVAILABLE, FEW_LEFT or FULL, or None when the
    event has no limit. Coarse on purpose: one booking moves it only at a band's edge."""
    if capacity is None:
        return None
    if places_left <= 0:
        return FULL
    if places_left <= max(FEW_PLACES, capacity // 10):
        return FEW_LEFT
    return AVAILABLE
