"""The demo: one small network's story, told through the same domain functions as the app.

`flask --app app demo` loads it so a newcomer sees the whole product at once:

- a launch three weeks ago: bookings over the weeks before (some cancelled, some still on the
  waitlist), attendance, reflections approved and held back, each shared as its author chose
  (named, anonymous or kept to the room), phrases captured from speakers, an introduction, a
  poem someone wrote, a found poem, a sketch note, a published harvest and the evidence it adds
  up to; afterwards one attendee took a reflection down and one corrected their access needs
  from their private links;
- a Big Conversation happening now: the live room open to guests, prepared questions (the
  first one up), reflections in the room, more waiting for the hosts and one they held back,
  and a presenter link for the shared screen;
- a winter gathering still to book.

Each part of the story is one function, so a new feature adds its own part (or a few lines to
one) without touching the others. Every demo event carries `is_demo`, which its pages show;
`remove_demo` deletes them with everything they hold. The people are made up, so the emails
the story causes are written to the outbox folder, whatever MAIL_SERVER says.
"""

import io
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageDraw, ImageFont

from . import (
    accounts,
    agreement,
    attendance,
    contributions,
    events,
    moderation,
    outbox,
    presenting,
    prompts,
    registrations,
    self_service,
    sketches,
    support,
)
from .extensions import db
from .harvest import editorial, poem, sharing
from .models import Event, OutgoingEmail, Registration, SketchNote, utcnow
from .times import date_label

ORGANISER_EMAIL = "demo@example.org"
ORGANISER_NAME = "Demo Organiser"
ZONE = ZoneInfo("Europe/London")


@dataclass
class Demo:
    """What loading the demo made."""

    events: list[Event]
    password: str | None = None  # set only when the organiser account was made just now
    emails: int = 0


@dataclass
class Person:
    name: str
    display_name: str = ""
    organisation: str = ""
    # Asked for discreet invites when booking: neutral calendar entry and email subjects.
    discreet: bool = False

    @property
    def email(self):
        return self.name.lower().replace(" ", ".") + "@example.org"


@dataclass
class Reflection:
    """A contribution to post, and what the hosts do with it."""

    text: str
    by: str  # a person's name, or "guest:<name>"
    outcome: str = "approved"  # approved, featured, rejected (held back) or pending
    anonymous: bool = False
    # In the published harvest: "anonymous" (the default), "named" or "room" (consent.py).
    sharing: str = "anonymous"
    resonated_by: list[str] = field(default_factory=list)
    # Held back: a key of moderation.HOLD_BACK_REASONS, or written text (the author sees it).
    reason: str | None = None
    # Words a host removed before it was shared, and what they were: ("St Anne's", "place").
    redact: tuple[str, str] | None = None


LAUNCH_PEOPLE = [
    Person("Maya Okafor", "Maya", "Northern Recovery Collective"),
    Person("Tom Reilly", "Tom R", "Peer Voices Bristol"),
    Person("Aisha Rahman", "Aisha", "Women in Recovery Leeds"),
    Person("Gareth Lewis", "", "Valleys Recovery Café"),
    Person("Priya Shah", "Priya", "Recovery Connections"),
    Person("Sam Whitfield", "Sam W", "Northern Recovery Collective"),
    Person("Joanne Price", "Jo", ""),
    Person("Daniel Mensah", "Dan", "Peer Voices Bristol"),
    Person("Helen Carter", "Helen", "The Kettle Club"),
    Person("Lewis Grant", "Lewis", "Recovery Connections"),
    Person("Nadia Kowalski", "", "Women in Recovery Leeds"),
    Person("Owen Burke", "Owen", "Valleys Recovery Café"),
    # The launch fills up: these four join the waitlist.
    Person("Rosa Martin", "Rosa", "The Kettle Club"),
    Person("Kwame Asante", "Kwame", ""),
    Person("Ellie Shaw", "Ellie", "Recovery Connections"),
    Person("Ben Hughes", "Ben", ""),
]
LAUNCH_CANCELLED = ["Lewis Grant", "Owen Burke"]  # their seats go to Rosa and Kwame
LAUNCH_CAPACITY = 12
LAUNCH_ONLY_ON_THE_CALL = ["Nadia Kowalski"]  # came, said nothing in the room: marked by a host
LAUNCH_BOOKING_DAYS = 24  # bookings came in over the weeks before, as the evidence page shows

LAUNCH_QUESTIONS = {
    "What helped your recovery take hold?": [
        Reflection(
            "Someone who had been there a year before me, and said so out loud.",
            "Maya Okafor",
            "featured",
            sharing="named",
            resonated_by=["Tom Reilly", "Aisha Rahman", "Priya Shah", "Helen Carter"],
        ),
        Reflection(
            "A kettle, a key to the building and being trusted with both.",
            "Helen Carter",
            sharing="named",
            resonated_by=["Gareth Lewis", "Joanne Price"],
        ),
        Reflection("Being asked what I needed instead of being told.", "Tom Reilly"),
        Reflection(
            "Walking groups. Nobody has to look at each other, so people talk.",
            "Gareth Lewis",
            anonymous=True,
        ),
        Reflection(
            "My name on a rota. It meant someone expected me to turn up.",
            "Joanne Price",
            sharing="room",  # said in the room, kept out of the published harvest
        ),
        Reflection(
            "My number is 07700 900123 if anyone from my old street wants to talk.",
            "Daniel Mensah",
            "rejected",  # held back: it would have put his phone number on a public page
            reason="identifies",
        ),
    ],
    "What should the network do in its first year?": [
        Reflection(
            "Share what works between groups so nobody starts from scratch.",
            "Priya Shah",
            sharing="named",
            resonated_by=["Maya Okafor", "Sam Whitfield"],
        ),
        Reflection("Pay people with lived experience for their time, every time.", "Aisha Rahman"),
        Reflection("Keep the doors open in August when everything else closes.", "Sam Whitfield"),
        Reflection(
            "Make it easy for small groups to be heard by the people who fund them.",
            "Rosa Martin",
        ),
        Reflection(
            "The commissioners in our area are a joke and I can name them.",
            "Kwame Asante",
            "rejected",  # held back: a personal attack the hosts would not publish
            reason="We share ideas here, not criticism of named people: talk to us after.",
        ),
    ],
}
LAUNCH_PHRASES = [
    ("Recovery is something we do together, not something done to us.", "Sam, panel"),
    ("We were told we were hard to reach. We were always right here.", "Aisha, panel"),
    ("Lived experience is expertise that cost us something.", "Pat, closing words"),
]
# The found poem: (stanza, fragment, the contribution or phrase it is cut from).
# Afterwards, from their private links: a reflection taken down, and access needs corrected.
LAUNCH_TAKEN_DOWN = ("Tom Reilly", "Being asked what I needed instead of being told.")
LAUNCH_CORRECTION = ("Sam Whitfield", "Step-free access, and a seat near the door")

LAUNCH_POEM = [
    (1, "Someone who had been there", "Someone who had been there a year before me"),
    (1, "and said so out loud", "Someone who had been there a year before me"),
    (1, "We were always right here", "We were told we were hard to reach"),
    (2, "a kettle, a key to the building", "A kettle, a key to the building"),
    (2, "and being trusted with both", "A kettle, a key to the building"),
    (2, "Recovery is something we do together", "Recovery is something we do together"),
]

LAUNCH_INTRODUCTION = (
    "Sixty people from across the region came to launch the network: people in recovery, "
    "the groups they run, and a few commissioners brave enough to listen.\n\n"
    "What follows is what was said in the room and on the call, in the words of those who "
    "said it, and a poem one of us wrote on the train home."
)
LAUNCH_WRITTEN_POEM = editorial.Editorial(
    poem_title="On the train home",
    poem=(
        "I came in expecting a meeting\n"
        "and found a kitchen table\n"
        "the size of a region.\n"
        "\n"
        "Someone had been there before me.\n"
        "Someone said so out loud.\n"
        "That was the whole of it,\n"
        "and it was enough."
    ),
    poem_credit="Rosa Martin",
)

NOW_PEOPLE = [
    Person("Maya Okafor", "Maya", "Northern Recovery Collective"),
    Person("Chris Dunn", "Chris", "Recovery Connections"),
    Person("Fatima Begum", "Fatima", "Women in Recovery Leeds"),
    Person("Gareth Lewis", "", "Valleys Recovery Café"),
    Person("Siobhan Kelly", "Siobhan", "The Kettle Club"),
    Person("Jordan Price", "Jordan", discreet=True),
]
NOW_QUESTION = "What helps recovery last, once the formal support ends?"
# Prepared before the session, in order, each tied to the agenda item it belongs to: the
# first is up now, "Next question" in the host view asks the others.
NOW_PREPARED = [
    (NOW_QUESTION, "The Big Conversation"),
    ("What counts as evidence that recovery works, and who gets to say?", "The Big Conversation"),
    ("Where should the money go first, if it were up to us?", "The Big Conversation"),
    ("What has another group taught you that everyone should hear?", "The Big Conversation"),
    ("What should the network carry to the people who make policy?", "What happens next"),
]
NOW_REFLECTIONS = [
    Reflection(
        "Having somewhere to go on a Sunday afternoon. That is when it gets hard.",
        "Chris Dunn",
        "featured",
        resonated_by=["Maya Okafor", "Fatima Begum", "guest:Robin"],
    ),
    Reflection("Friends who knew me before and stayed.", "Fatima Begum"),
    Reflection(
        "Giving something back: I run the Tuesday group at St Anne's now.",
        "guest:Robin",
        redact=("St Anne's", "place"),
    ),
    Reflection("Knowing the door is still open if I slip.", "Gareth Lewis", anonymous=True),
    Reflection("Work that fits around meetings, and a boss who knows.", "Siobhan Kelly", "pending"),
    Reflection("A group for parents, with a crèche, in the daytime.", "guest:Lee", "pending"),
    Reflection(
        "My key worker at the council let me down, ask me and I'll tell you who.",
        "guest:Lee",
        "rejected",  # held back: it names someone; the hosts can restore it to the queue
    ),
]
NOW_PHRASE = ("We are not a service, we are a community.", "Maya, welcome")
NOW_BOOKING_DAYS = 10
NOW_SUPPORT_CONTACTS = (
    "Samaritans: call 116 123, free, any time, day or night\n"
    "FRANK (drugs and alcohol): call 0300 123 6600\n"
    "Or write to the hosts on the video call: a wellbeing host is there throughout"
)
NOW_ASKS_FOR_SUPPORT = "Fatima Begum"  # only the wellbeing host (the demo organiser) sees it

TO_BOOK_PEOPLE = [
    Person("Helen Carter", "Helen", "The Kettle Club"),
    Person("Tom Reilly", "Tom R", "Peer Voices Bristol"),
    Person("Priya Shah", "Priya", "Recovery Connections"),
]


def load_demo(now=None):
    """Tell the whole story, or do nothing (and return None) when a demo is already loaded."""
    if demo_events():
        return None
    now = (now or utcnow()).astimezone(ZONE)
    organiser, password = demo_organiser()
    made = [
        launch_three_weeks_ago(organiser, now),
        big_conversation_now(organiser, now),
        winter_gathering_to_book(organiser, now),
    ]
    return Demo(made, password, file_demo_emails(made))


def demo_events():
    return db.session.scalars(sa.select(Event).where(Event.is_demo).order_by(Event.starts_at)).all()


def tour(demo, now=None):
    """Where to look, one line per demo event, as (what it shows, path)."""
    now = now or utcnow()
    stops = []
    for event in demo:
        if event.starts_at <= now < event.ends_at:
            guests = " to guests" if event.allow_guests else ""
            room = f"/events/{event.slug}/live"
            stops.append((f"Happening now, its live room open{guests}", room))
            stops.append(("  and as its host", f"{room}/host"))
            if event.presenter_secret:
                stops.append(
                    (
                        "  and on the shared screen (presenter link)",
                        f"{room}/present?key={event.presenter_secret}",
                    )
                )
        elif event.ends_at <= now:
            held = f"Held on {date_label(event.local_starts_at)}"
            if event.harvest_published:
                stops.append((f"{held}, its harvest shared", f"/events/{event.slug}/harvest"))
            else:
                stops.append((held, f"/events/{event.slug}"))
            stops.append(("  and its evidence, for its hosts", f"/events/{event.slug}/evidence"))
        else:
            when = date_label(event.local_starts_at)
            stops.append((f"To book, on {when}", f"/events/{event.slug}"))
    return stops


def demo_organiser():
    """The demo organiser and a new password, or (organiser, None) when it already exists."""
    organiser = accounts.find_organiser(ORGANISER_EMAIL)
    if organiser is not None:
        return organiser, None
    password = secrets.token_urlsafe(12)
    return accounts.create_organiser(ORGANISER_EMAIL, ORGANISER_NAME, password), password


def file_demo_emails(made):
    """Deliver the story's queued emails now, which files them in the outbox folder (they are
    about demo events: `outbox.about_the_demo`), so the command can say how many. Returns how
    many."""
    queued = db.session.scalars(
        sa.select(OutgoingEmail.id).where(
            OutgoingEmail.event_id.in_([event.id for event in made]),
            OutgoingEmail.status == "queued",
        )
    ).all()
    for email_id in queued:
        outbox.deliver(email_id)
    return len(queued)


# -- The launch, three weeks ago ---------------------------------------------------------------


def launch_three_weeks_ago(organiser, now):
    """The launch is replayed as if it were happening now (bookings and the live room only take
    part in events that have not ended), then filed where it happened, and its harvest made."""
    held_on = weekday_before(now.date() - timedelta(days=15), 3)  # a Thursday, 15-21 days ago
    data = launch_event_data(held_on)
    replay_start = now.replace(minute=0, second=0, microsecond=0, tzinfo=None) - timedelta(hours=1)
    event = publish(organiser, shifted(data, replay_start - data.starts_at))
    people = launch_bookings(event)
    said = launch_room(event, organiser, people)
    launch_attendance(event, organiser, people)
    events.update_event(event, data)
    spread_bookings(people.values(), event.starts_at, days=LAUNCH_BOOKING_DAYS)
    launch_harvest(event, said)
    launch_self_service(people, said)
    return event


def launch_event_data(day):
    def at(hour, minute=0):
        return datetime.combine(day, time(hour, minute))

    return demo_event_data(
        title="Recovery Voices Network: launch day",
        slug="recovery-voices-launch",
        starts_at=at(10),
        ends_at=at(16),
        capacity=LAUNCH_CAPACITY,
        video_url="https://meet.example.org/recovery-voices-launch",
        description=(
            "The launch of a network of lived experience recovery organisations. A morning "
            "panel of people in recovery and the groups they built, then an afternoon of "
            "facilitated conversation: what recovery communities need, in our own words."
        ),
        agenda=[
            events.AgendaItemData("Welcome and why we are here", "talk", at(10), at(10, 30)),
            events.AgendaItemData(
                "Panel: recovery built by people in recovery", "panel", at(10, 30), at(12)
            ),
            events.AgendaItemData("Lunch", "break", at(12), at(13)),
            events.AgendaItemData("Facilitated conversation", "conversation", at(13), at(16)),
        ],
    )


def launch_bookings(event):
    """Sixteen people book twelve seats, four wait; two cancel and the first two waiting get
    their seats. Returns the registrations by name."""
    people = book(event, LAUNCH_PEOPLE)
    for name in LAUNCH_CANCELLED:
        registrations.cancel_registration(people[name])
    return people


def launch_room(event, host, people):
    """Two questions, the room's answers moderated, and what the speakers said. Returns what
    the poem may quote: {text: {"contribution_id": id} or {"phrase_id": id}}."""
    said = {}
    for question, reflections in LAUNCH_QUESTIONS.items():
        prompt = moderation.set_prompt(event, host, question)
        for contribution in post_reflections(event, host, prompt, people, reflections):
            said[contribution.text] = {"contribution_id": contribution.id}
    for text, attribution in LAUNCH_PHRASES:
        phrase = moderation.capture_phrase(event, host, text, attribution)
        said[phrase.text] = {"phrase_id": phrase.id}
    return said


def launch_attendance(event, host, people):
    """Who came: those who wrote in the live room joined it; the hosts mark who was only on the
    video call."""
    joined_the_room(people, [r for rs in LAUNCH_QUESTIONS.values() for r in rs])
    for name in LAUNCH_ONLY_ON_THE_CALL:
        attendance.mark_attended(people[name], host)


def launch_harvest(event, said):
    """An introduction, a poem someone wrote, the found poem, a sketch note of the day, and the
    harvest shared with everyone."""
    editorial.save_editorial(event, replace(LAUNCH_WRITTEN_POEM, introduction=LAUNCH_INTRODUCTION))
    for stanza, fragment, source_start in LAUNCH_POEM:
        source = next(ids for text, ids in said.items() if text.startswith(source_start))
        poem.add_poem_line(event, text=fragment, stanza=stanza, **source)
    sketches.save_sketch_note(
        event,
        io.BytesIO(sketch_note_png(event.title)),
        "A hand-drawn style summary of the launch: the network's name across the top, and "
        "three boxes joined by arrows reading 'Been there', 'Trusted' and 'Together'.",
        current_app.config["UPLOAD_DIR"],
        max_bytes=current_app.config["SKETCH_MAX_BYTES"],
        max_pixels=current_app.config["SKETCH_MAX_PIXELS"],
    )
    sharing.publish_harvest(event)


def launch_self_service(people, said):
    """What two attendees did afterwards from their private links: one took a reflection down
    (it left the harvest at once), one corrected their access needs."""
    taken_down = said[LAUNCH_TAKEN_DOWN[1]]["contribution_id"]
    self_service.take_down(people[LAUNCH_TAKEN_DOWN[0]], taken_down)
    name, access_needs = LAUNCH_CORRECTION
    self_service.correct_details(people[name], people[name].display_name, access_needs)


def sketch_note_png(title):
    """A small drawn summary, made here so the demo needs no image files."""
    image = Image.new("RGB", (960, 540), "#fdf6e3")
    draw = ImageDraw.Draw(image)
    heading = ImageFont.load_default(size=38)
    label = ImageFont.load_default(size=30)
    draw.text((40, 36), title, fill="#1f3a5f", font=heading)
    draw.line((40, 96, 920, 96), fill="#c0392b", width=4)
    for number, word in enumerate(("Been there", "Trusted", "Together")):
        left = 40 + number * 310
        draw.rounded_rectangle((left, 200, left + 260, 360), 24, outline="#1f3a5f", width=5)
        draw.text((left + 30, 262), word, fill="#1f3a5f", font=label)
        if number < 2:
            draw.line((left + 265, 280, left + 305, 280), fill="#c0392b", width=5)
    draw.text((40, 450), "Sketched at the launch: what helped, and what comes next", fill="#555")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# -- The Big Conversation, happening now -------------------------------------------------------


def big_conversation_now(organiser, now):
    """Started half an hour ago: guests may join once they accept the room agreement, the first
    of five prepared questions is up, reflections are in the room, two wait for the hosts, a
    presenter link is ready, and one booking is discreet."""
    start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0, tzinfo=None)
    start -= timedelta(minutes=30)

    def at(minutes):
        return start + timedelta(minutes=minutes)

    event = publish(
        organiser,
        demo_event_data(
            title="The Big Conversation: what helps recovery last?",
            slug="big-conversation",
            starts_at=at(0),
            ends_at=at(90),
            capacity=60,
            video_url="https://meet.example.org/big-conversation",
            allow_guests=True,
            room_agreement=agreement.DEFAULT_AGREEMENT,
            support_contacts=NOW_SUPPORT_CONTACTS,
            description=(
                "Ninety minutes to carry on where the launch left off. Share a reflection, "
                "hear others, and help shape the network's next year. Anyone may join the "
                "live room as a guest."
            ),
            agenda=[
                events.AgendaItemData("Welcome", "talk", at(0), at(10)),
                events.AgendaItemData("The Big Conversation", "conversation", at(10), at(80)),
                events.AgendaItemData("What happens next", "talk", at(80), at(90)),
            ],
        ),
    )
    people = book(event, NOW_PEOPLE)
    spread_bookings(people.values(), event.starts_at, days=NOW_BOOKING_DAYS)
    joined_the_room(people, NOW_REFLECTIONS)
    prepare_questions(event, organiser)
    moderation.capture_phrase(event, organiser, *NOW_PHRASE)
    prompt = prompts.ask_next_prompt(event, organiser)
    post_reflections(event, organiser, prompt, people, NOW_REFLECTIONS)
    support.set_wellbeing_host(event, organiser, organiser.id, True)
    support.request_support(
        event, contributions.author_for_registration(people[NOW_ASKS_FOR_SUPPORT])
    )
    presenting.create_presenter_link(event)
    return event


def prepare_questions(event, organiser):
    """The hosts' questions for the session, written before it started."""
    items = {item.title: item.id for item in event.agenda_items}
    for text, agenda_title in NOW_PREPARED:
        prompts.add_prepared_prompt(event, organiser, text, items[agenda_title])


# -- The winter gathering, to book -------------------------------------------------------------


def winter_gathering_to_book(organiser, now):
    """Four weeks ahead, on a Saturday, with most of its forty seats free."""
    day = weekday_before(now.date() + timedelta(days=28), 5)

    def at(hour, minute=0):
        return datetime.combine(day, time(hour, minute))

    event = publish(
        organiser,
        demo_event_data(
            title="Winter gathering: peer support in practice",
            slug="winter-gathering",
            starts_at=at(11),
            ends_at=at(15),
            capacity=40,
            video_url="https://meet.example.org/winter-gathering",
            description=(
                "A day of workshops run by peer supporters from the network's groups: "
                "starting a group, keeping volunteers well, and being heard by funders."
            ),
            agenda=[
                events.AgendaItemData("Welcome", "talk", at(11), at(11, 15)),
                events.AgendaItemData(
                    "Workshops: starting and keeping a group", "workshop", at(11, 15), at(13)
                ),
                events.AgendaItemData("Lunch together", "break", at(13), at(14)),
                events.AgendaItemData("Being heard by funders", "conversation", at(14), at(15)),
            ],
        ),
    )
    book(event, TO_BOOK_PEOPLE)
    return event


# -- Shared steps ------------------------------------------------------------------------------


def demo_event_data(**fields):
    """An event in London, marked as demo data."""
    return events.EventData(timezone=ZONE.key, is_demo=True, **fields)


def publish(organiser, data):
    return events.publish_event(events.create_event(organiser, data))


def book(event, people):
    """Register each person as the form would, in order; returns registrations by name."""
    booked = {}
    for person in people:
        booked[person.name] = registrations.register_attendee(
            event,
            registrations.RegistrationData(
                name=person.name,
                email=person.email,
                organisation=person.organisation,
                display_name=person.display_name,
                consent=True,
                discreet=person.discreet,
            ),
        ).registration
    return booked


def joined_the_room(people, reflections):
    """Record the live-room join of every booked person who writes or resonates below."""
    names = {r.by for r in reflections} | {n for r in reflections for n in r.resonated_by}
    for name in sorted(names):
        if not name.startswith("guest:"):
            attendance.record_live_room_join(people[name])


def spread_bookings(booked, starts_at, days):
    """Date the story's bookings over the `days` before the start, in booking order, as if
    they had come in over those weeks (the demo makes them all at once). The order, and with
    it who got a seat, stays as it was."""
    booked = sorted(booked, key=lambda r: (r.created_at, r.id))
    for number, registration in enumerate(booked):
        ago = timedelta(days=days) * (len(booked) - number) / len(booked)
        registration.created_at = registration.consent_at = starts_at - ago
        if registration.cancelled_at is not None:
            registration.cancelled_at = starts_at - ago / 2
    db.session.commit()


def post_reflections(event, host, prompt, people, reflections):
    """Each reflection sent from its author's device, then moderated and resonated with;
    returns the contributions made."""
    authors, made = {}, []

    def author(name):
        if name not in authors:
            if name.startswith("guest:"):
                authors[name] = contributions.author_for_guest(
                    event, name.removeprefix("guest:"), secrets.token_urlsafe(24)
                )
            else:
                authors[name] = contributions.author_for_registration(people[name])
            # Everyone who posts has accepted the room agreement first, as in the room.
            agreement.accept_agreement(event, authors[name])
        return authors[name]

    for reflection in reflections:
        contribution, _, _ = contributions.submit_contribution(
            event,
            author(reflection.by),
            str(uuid.uuid4()),
            reflection.text,
            prompt_id=prompt.id,
            anonymous=reflection.anonymous,
            sharing=reflection.sharing,
        )
        made.append(contribution)
        if reflection.redact:
            moderation.redact_contribution(event, host, contribution.id, *reflection.redact)
        if reflection.outcome in ("approved", "featured"):
            moderation.approve_contribution(event, host, contribution.id)
        if reflection.outcome == "featured":
            moderation.feature_contribution(event, host, contribution.id)
        if reflection.outcome == "rejected":
            listed = reflection.reason in moderation.HOLD_BACK_REASONS
            moderation.reject_contribution(
                event,
                host,
                contribution.id,
                reason=reflection.reason if listed else ("other" if reflection.reason else None),
                reason_text=None if listed else reflection.reason,
            )
        for name in reflection.resonated_by:
            contributions.toggle_resonance(event, author(name).key, contribution.id)
    return made


def shifted(data, delta):
    """The same event `delta` later (wall-clock times in its zone)."""
    return replace(
        data,
        starts_at=data.starts_at + delta,
        ends_at=data.ends_at + delta,
        agenda=[
            replace(item, starts_at=item.starts_at + delta, ends_at=item.ends_at + delta)
            for item in data.agenda
        ],
    )


def weekday_before(day, weekday):
    """The last date on or before `day` that falls on `weekday` (Monday is 0)."""
    return day - timedelta(days=(day.weekday() - weekday) % 7)


# -- Removing it -------------------------------------------------------------------------------


def remove_demo():
    """Delete every demo event and everything that belongs to it, found by following foreign
    keys from the event table, so tables added by later features go too. Returns how many."""
    demo = demo_events()
    if not demo:
        return 0
    ids = [event.id for event in demo]
    people = db.session.scalars(sa.select(Registration).where(Registration.event_id.in_(ids)))
    for registration in people.all():
        outbox.forget_registration(registration)  # their .eml files go too
    db.session.commit()
    for event in demo:
        notes = db.session.scalars(sa.select(SketchNote).where(SketchNote.event_id == event.id))
        for note in notes.all():
            sketches.delete_sketch_note(event, note.id, current_app.config["UPLOAD_DIR"])
    # The event points at its current prompt too: let go of it before prompts are deleted.
    db.session.execute(sa.update(Event).where(Event.id.in_(ids)).values(current_prompt_id=None))
    for table, belongs in reversed(rows_of_events(ids).items()):
        db.session.execute(table.delete().where(belongs))
    db.session.commit()
    db.session.expunge_all()
    return len(ids)


def rows_of_events(ids):
    """For each table holding rows of these events, the condition that picks them, parents
    before children."""
    event_table = Event.__table__
    conditions = {event_table: event_table.c.id.in_(ids)}
    for table in db.metadata.sorted_tables:
        for key in table.foreign_keys:
            parent = key.column.table
            if table is event_table or parent not in conditions:
                continue
            belongs = key.parent.in_(sa.select(key.column).where(conditions[parent]))
            if table in conditions:
                belongs = sa.or_(conditions[table], belongs)
            conditions[table] = belongs
    return conditions
