"""The figures, counted from what erasure and the retention purge keep: a registration's
status, timestamps, attendance and organisation, and the contribution and resonance rows.
Never from names or addresses, so the counts do not change when those are removed.

A person is counted once however many tabs or reconnects they had: a registration is one
person, and a guest is one author key (kept by their browser across reconnects).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import Contribution, Event, Phrase, Prompt, Registration, Resonance
from ..places import CANCELLED, CONFIRMED, WAITLISTED
from ..support import support_request_count
from ..visibility import heard_prompts, phrase_shown, shown_in_harvest

# Contribution.author_key and Resonance.participant_key: "r:<registration id>" for a booked
# person, "g:<digest>" for a guest (contributions.author_for_registration / _for_guest).
GUEST_KEY_PREFIX = "g:"
# From this many days between the first sign-up and the last, sign-ups are shown per week.
DAYS_SHOWN_SINGLY = 21
NO_QUESTION = "Without a question"

# What each figure counts, in words shown beside it on every page and download.
DEFINITIONS = {
    "signed_up": (
        "Signed up",
        "everyone who booked, including the waiting list and those who later cancelled; "
        "guests are counted on their own",
    ),
    "confirmed": ("Confirmed", "people holding a place now"),
    "waiting": ("Waiting", "people still on the waiting list"),
    "cancelled": (
        "Cancelled",
        "places given up, by the person or a host, including people who erased their data",
    ),
    "took_part": (
        "Took part",
        "people with a booking who came: they joined the live room, or a host marked them "
        "as there (on the video call, say)",
    ),
    "contributed": (
        "Contributed",
        "people with a booking who posted at least one reflection in the live room, shown or not",
    ),
    "guests": (
        "Guests",
        "people without a booking who joined the live room as guests and posted or marked "
        "a reflection (guests who only listened leave no record)",
    ),
    "contributions": ("Contributions", "reflections approved by the hosts and shared"),
    "posted": ("Reflections posted", "everything posted in the live room, shown or not"),
    "voices_heard": (
        "Voices heard",
        "people (booked or guests) whose reflections are shared; phrases hosts captured are "
        "counted on their own, as an attribution such as a role need not be one person",
    ),
    "phrases": ("Phrases captured", "things hosts heard said and captured, not withdrawn"),
    "organisations": (
        "Organisations represented",
        "different organisations named by people holding a place (ignoring case and spaces)",
    ),
    "resonance": (
        "Resonance",
        "times someone marked a reflection as resonating with them",
    ),
    "support_requests": (
        "Support requests",
        "times someone in the live room quietly asked the wellbeing hosts for support; only "
        "the number is kept here, never who asked or when",
    ),
    # Across an organiser's events (evidence.across).
    "events_run": ("Events run", "published events you host that have started, not cancelled"),
    "people_reached": (
        "People reached",
        "people who took part in each event, plus guests; someone who came to three events "
        "counts three times",
    ),
    "returning": (
        "Returning people",
        "people who took part in more than one of these events, matched by email address "
        "while we still hold it (erasure and the retention purge remove addresses, so older "
        "events may count fewer)",
    ),
    "organisations_reached": (
        "Organisations reached",
        "different organisations represented across these events",
    ),
}


# Figures that count people: shared beyond the hosts, these hide small numbers.
PEOPLE = {
    "signed_up",
    "confirmed",
    "waiting",
    "cancelled",
    "took_part",
    "contributed",
    "guests",
    "voices_heard",
    # Not people but each one someone's: shared, a small number could point at them.
    "support_requests",
    "people_reached",
    "returning",
}


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int
    definition: str

    @property
    def counts_people(self):
        return self.key in PEOPLE


def figure(key, value):
    label, definition = DEFINITIONS[key]
    return Figure(key, label, value, definition)


@dataclass(frozen=True)
class QuestionCount:
    text: str
    posted: int
    shared: int


@dataclass(frozen=True)
class OrganisationCount:
    name: str
    places: int
    came: int


@dataclass(frozen=True)
class Period:
    """Sign-ups in one day or week (starting `start`, in the event's time zone)."""

    start: date
    label: str
    new: int
    total: int


@dataclass(frozen=True)
class ResonanceCounts:
    marks: int
    people: int
    reflections: int


@dataclass
class EventEvidence:
    event: Event
    statuses: dict
    took_part: int
    contributed: int
    guests: int
    posted: int
    shared: int
    voices_heard: int
    phrases: int
    questions: list[QuestionCount]
    organisations: list[OrganisationCount]
    organisation_not_given: int
    resonance: ResonanceCounts
    sign_up_days: Counter
    support_requests: int

    @property
    def signed_up(self):
        return sum(self.statuses.values())

    def people_figures(self):
        """The headline figures, in the order the page, the downloads and the print show them.

        A new figure (support requests, say) is a DEFINITIONS entry (and a PEOPLE one if it
        counts people), a field filled in `event_evidence`, and a line here: the page, the
        shareable version and both downloads then show it.
        """
        return [
            figure("signed_up", self.signed_up),
            figure("confirmed", self.statuses.get(CONFIRMED, 0)),
            figure("waiting", self.statuses.get(WAITLISTED, 0)),
            figure("cancelled", self.statuses.get(CANCELLED, 0)),
            figure("took_part", self.took_part),
            figure("contributed", self.contributed),
            figure("guests", self.guests),
            figure("posted", self.posted),
            figure("contributions", self.shared),
            figure("phrases", self.phrases),
            figure("organisations", len(self.organisations)),
            figure("resonance", self.resonance.marks),
            figure("support_requests", self.support_requests),
        ]


def status_counts(event):
    rows = db.session.execute(
        sa.select(Registration.status, sa.func.count())
        .where(Registration.event_id == event.id)
        .group_by(Registration.status)
    )
    return dict(rows.all())


def took_part_count(event):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.attended_at.is_not(None))
    )


def is_guest_key(key):
    return key.startswith(GUEST_KEY_PREFIX)


def author_keys(event):
    query = sa.select(Contribution.author_key).where(Contribution.event_id == event.id)
    return set(db.session.scalars(query.distinct()))


def resonating_keys(event):
    return set(
        db.session.scalars(
            sa.select(Resonance.participant_key)
            .join(Contribution, Contribution.id == Resonance.contribution_id)
            .where(Contribution.event_id == event.id)
            .distinct()
        )
    )


def guest_count(event, authors=None):
    """Guests who posted or marked a reflection, each once."""
    authors = author_keys(event) if authors is None else authors
    return len({key for key in authors | resonating_keys(event) if is_guest_key(key)})


def contributed_count(authors):
    return len({key for key in authors if not is_guest_key(key)})


def contribution_totals(event):
    """(posted, shared): every reflection, and those the harvest shows."""
    posted, shared = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((shown_in_harvest(), 1), else_=0)), 0),
        ).where(Contribution.event_id == event.id)
    ).one()
    return posted, int(shared)


def question_counts(event):
    """Reflections per question the room heard, in the order asked, then those without one
    (prepared questions nobody asked stay out)."""
    rows = db.session.execute(
        sa.select(
            Contribution.prompt_id,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((shown_in_harvest(), 1), else_=0)), 0),
        )
        .where(Contribution.event_id == event.id)
        .group_by(Contribution.prompt_id)
    ).all()
    counts = {prompt_id: (posted, int(shared)) for prompt_id, posted, shared in rows}
    prompts = db.session.scalars(
        sa.select(Prompt)
        .where(Prompt.event_id == event.id, heard_prompts())
        .order_by(sa.func.coalesce(Prompt.asked_at, Prompt.created_at), Prompt.id)
    ).all()
    questions = [QuestionCount(p.text, *counts.get(p.id, (0, 0))) for p in prompts]
    if None in counts:
        questions.append(QuestionCount(NO_QUESTION, *counts[None]))
    return questions


def organisation_key(name):
    return " ".join(name.split()).casefold()


def organisation_counts(event):
    """Organisations named by people holding a place, largest first, each under its most used
    spelling; and how many holding a place named none."""
    rows = db.session.execute(
        sa.select(Registration.organisation, Registration.attended_at).where(
            Registration.event_id == event.id, Registration.status == CONFIRMED
        )
    ).all()
    places, came, spellings = Counter(), Counter(), {}
    not_given = 0
    for organisation, attended_at in rows:
        key = organisation_key(organisation)
        if not key:
            not_given += 1
            continue
        places[key] += 1
        came[key] += attended_at is not None
        spellings.setdefault(key, Counter())[" ".join(organisation.split())] += 1
    counted = [
        OrganisationCount(spellings[key].most_common(1)[0][0], places[key], came[key])
        for key in places
    ]
    counted.sort(key=lambda o: (-o.places, o.name.casefold()))
    return counted, not_given


def organisation_keys(event):
    """The organisations represented at `event`, as comparable keys."""
    names = db.session.scalars(
        sa.select(Registration.organisation).where(
            Registration.event_id == event.id, Registration.status == CONFIRMED
        )
    )
    return {organisation_key(name) for name in names} - {""}


def resonance_counts(event):
    marks, people, reflections = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.distinct(Resonance.participant_key)),
            sa.func.count(sa.distinct(Resonance.contribution_id)),
        )
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id)
    ).one()
    return ResonanceCounts(marks, people, reflections)


def sign_up_days(event):
    """How many signed up on each day, in the event's time zone."""
    zone = event.zone
    return Counter(
        created_at.astimezone(zone).date()
        for created_at in db.session.scalars(
            sa.select(Registration.created_at).where(Registration.event_id == event.id)
        )
    )


def periods_of(days, weekly=False):
    """Sign-ups per day (per week when `weekly`, or over a long run), with totals so far.

    Every day or week from the first sign-up to the last is listed, quiet ones with 0.
    Returns (periods, "day" or "week").
    """
    if not days:
        return [], "week" if weekly else "day"
    first, last = min(days), max(days)
    per = "week" if weekly or (last - first).days >= DAYS_SHOWN_SINGLY else "day"
    step = timedelta(days=1 if per == "day" else 7)
    start = first if per == "day" else first - timedelta(days=first.weekday())
    periods, total = [], 0
    while start <= last:
        new = sum(count for day, count in days.items() if start <= day < start + step)
        total += new
        label = f"{start:%a %d %b}" if per == "day" else f"Week of {start:%d %b}"
        periods.append(Period(start, label, new, total))
        start += step
    return periods, per


def voices_heard(event_id):
    """People whose reflections are shared: booked or guests, each once (DEFINITIONS). The one
    rule for the harvest, its live figures, the evidence and the hosts' live count."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Contribution.author_key))).where(
            Contribution.event_id == event_id, shown_in_harvest()
        )
    )


def phrase_count(event):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Phrase)
        .where(Phrase.event_id == event.id, phrase_shown())
    )


def event_evidence(event):
    authors = author_keys(event)
    posted, shared = contribution_totals(event)
    organisations, not_given = organisation_counts(event)
    return EventEvidence(
        event=event,
        statuses=status_counts(event),
        took_part=took_part_count(event),
        contributed=contributed_count(authors),
        guests=guest_count(event, authors),
        posted=posted,
        shared=shared,
        voices_heard=voices_heard(event.id),
        phrases=phrase_count(event),
        questions=question_counts(event),
        organisations=organisations,
        organisation_not_given=not_given,
        resonance=resonance_counts(event),
        sign_up_days=sign_up_days(event),
        support_requests=support_request_count(event),
    )
