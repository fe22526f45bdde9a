"""What happened, announced by the domain modules for whoever listens.

Each signal is sent inside the transaction of the change that it announces, before the commit,
so whatever a receiver writes (notifications writes outgoing emails) commits or rolls back with
the change itself. The sender is the object the signal is about.
"""

from blinker import Namespace

_signals = Namespace()

# sender: a new booking's registrations.Booking (its plain values), or with
# `already_registered` True, the Registration that address already had. On PostgreSQL the
# public form sends it before the booking is written, once for each status the booking can
# get, and the emails queued are collected (outbox.collected) and written by the booking's
# own statement with the status it gets (pg_booking): receivers only queue emails.
registered = _signals.signal("registered")
# sender: Registration, moved from the waitlist into a seat.
promoted = _signals.signal("promoted")
# sender: Registration. `reason` is the host's words when a host cancelled it, else None.
registration_cancelled = _signals.signal("registration-cancelled")
# sender: Registration, erased at its person's request (nothing of theirs may stay behind).
registration_erased = _signals.signal("registration-erased")
# sender: Event, whose time or call link changed.
event_changed = _signals.signal("event-changed")
# sender: Event, cancelled by its hosts. `message` is their optional note to attendees.
event_cancelled = _signals.signal("event-cancelled")
# sender: EventMessage, written by a host. `recipients` are the registrations it goes to.
message_composed = _signals.signal("message-composed")
# sender: Event. `kind` is "day" or "hour"; `recipients` are its confirmed registrations.
reminder_due = _signals.signal("reminder-due")
# sender: Event, whose live room recorded updates. `kinds` is the set of their kinds.
room_changed = _signals.signal("room-changed")
