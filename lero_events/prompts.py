"""Prepared questions: written before the event, put in order, asked in the live room.

A prepared question is a `Prompt` that waits (`asked_at` empty) until a host asks it; asking it
is the same room change as typing a question live (moderation.set_prompt), so the room and
the harvest treat both alike. Adding, changing, removing or reordering them (on the questions
page or in the room) is news for the hosts only. docs/live-protocol.md section 8.
"""

import sqlalchemy as sa

from .broadcast import EVERY, OWN, room_change
from .contributions import clean_text
from .errors import DomainError, NotFound
from .extensions import db
from .models import AgendaItem, Contribution, Prompt, utcnow
from .moderation import MAX_PROMPT, prompt_view, require_host
from .security import whole_number

NOT_PREPARED = "That question is not one of this event's prepared questions."
ALL_ASKED = (
    "Every prepared question has been asked: type a new one, or ask one again from the list."
)
ASKED_ALREADY = "That question has been asked already: use Ask again to put it to the room."
STAYS_ASKED = "This question has been asked in the room, so it stays with what was said."
STAYS_CURRENT = "This is the room's question now, so it stays with what is being said."
# Where a host's move sends a question (docs/live-protocol.md section 8): one place up or down,
# or just before the first question not asked yet.
MOVES = ("up", "down", "next")
MADE_NEXT = "It is the next question now."
# The chain the hosts' `prepared` updates are on: an author key no participant or guest can
# have (theirs are "r:<id>" or 16-100 characters), so only hosts ever hear them.
HOSTS_CHAIN = "hosts"


def current_prompt(event):
    """The question the room is answering now, or None."""
    return db.session.get(Prompt, event.current_prompt_id) if event.current_prompt_id else None


def prepared_prompts(event):
    """The event's prepared questions in the hosts' order."""
    return db.session.scalars(
        sa.select(Prompt)
        .where(Prompt.event_id == event.id, Prompt.prepared)
        .order_by(Prompt.position, Prompt.id)
    ).all()


def prepared_view(prompt):
    item = prompt.agenda_item
    return {
        "id": prompt.id,
        "text": prompt.text,
        "position": prompt.position,
        "agenda_item": None if item is None else {"id": item.id, "title": item.title},
        "asked": prompt.asked_at is not None,
    }


def prepared_views(event):
    return [prepared_view(prompt) for prompt in prepared_prompts(event)]


def agenda_item_of(event, agenda_item_id):
    """The agenda item a question is tied to: one of this event's, or None."""
    if agenda_item_id is None:
        return None
    item = db.session.get(AgendaItem, agenda_item_id)
    if item is None or item.event_id != event.id:
        raise DomainError("That agenda item is not part of this event.")
    return item


def tell_hosts(change, views):
    """Every host connection replaces its list with `views` (the `prepared` update)."""
    # Stored without the list: a replay shows it as it is then (`prepared_as_now`), so the
    # latest one says all the others said (protocol 10.4).
    change.record(
        "prepared",
        {"prepared": views},
        audience=OWN,
        author_key=HOSTS_CHAIN,
        stored={},
        replaces=EVERY,
    )


def add_prepared_prompt(event, host, text, agenda_item_id=None):
    """Add a question at the end of the prepared list; every host's list follows."""
    require_host(event, host)
    text = clean_text(text, MAX_PROMPT)
    item = agenda_item_of(event, agenda_item_id)
    # Under the room's lock: two hosts adding at once never share a position.
    with room_change(event) as change:
        last = db.session.scalar(
            sa.select(sa.func.max(Prompt.position)).where(
                Prompt.event_id == event.id, Prompt.prepared
            )
        )
        prompt = Prompt(
            event_id=event.id, text=text, prepared=True, position=(last or 0) + 1, agenda_item=item
        )
        db.session.add(prompt)
        tell_hosts(change, prepared_views(event))
    return prompt


def prepared_prompt(event, prompt_id):
    # Read afresh: under the room's lock it must say whether the room has heard it by now.
    prompt = (
        db.session.get(Prompt, prompt_id, populate_existing=True)
        if whole_number(prompt_id)
        else None
    )
    if prompt is None or prompt.event_id != event.id or not prompt.prepared:
        raise NotFound(NOT_PREPARED)
    return prompt


def edit_prepared_prompt(event, host, prompt_id, text, agenda_item_id=None):
    """Reword a prepared question or tie it to another agenda item.

    Once asked, the room and the harvest have shown its words, so only the agenda item may
    change then. Every host's list follows, unless nothing changed.
    """
    require_host(event, host)
    text = clean_text(text, MAX_PROMPT)
    item = agenda_item_of(event, agenda_item_id)
    with room_change(event) as change:
        prompt = prepared_prompt(event, prompt_id)
        if prompt.asked_at is not None and text != prompt.text:
            raise DomainError(
                "This question has been asked already, so its words stay as the room saw them.",
                status=409,
            )
        if (text, item) != (prompt.text, prompt.agenda_item):
            prompt.text = text
            prompt.agenda_item = item
            tell_hosts(change, prepared_views(event))
    return prompt


def move_prepared_prompt(event, host, prompt_id, to):
    """Move a prepared question one place "up" or "down", or make it the "next" one asked:
    just before the first question not asked yet. Every host's list follows (a `prepared`
    update), whether it moved here, on the questions page or in the room."""
    require_host(event, host)
    if to not in MOVES:
        raise DomainError('to must be "up", "down" or "next".')
    if not whole_number(prompt_id):
        raise DomainError("prompt_id must be a number.")
    with room_change(event) as change:
        prompt = prepared_prompt(event, prompt_id)
        before = list(prepared_prompts(event))
        ordered = list(before)
        index = ordered.index(prompt)
        if to == "next":
            if prompt.asked_at is not None:
                raise DomainError(ASKED_ALREADY, status=409)
            # The question itself is waiting, so there is a first one at or before it.
            first_waiting = next(n for n, each in enumerate(ordered) if each.asked_at is None)
            ordered.insert(first_waiting, ordered.pop(index))
        else:
            other = index + (-1 if to == "up" else 1)
            if 0 <= other < len(ordered):
                ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, each in enumerate(ordered, start=1):
            each.position = position
        views = [prepared_view(each) for each in ordered]
        if ordered != before:
            tell_hosts(change, views)
    return views


def prepared_as_now(messages, views):
    """A host's tail or catch-up shows the list as it is now (`views`), never as an older
    change left it: the `prepared` updates are stored without their list."""
    for message in messages:
        if message["kind"] == "prepared":
            message["data"] = {"prepared": views}


def delete_prepared_prompt(event, host, prompt_id):
    """Remove a prepared question the room has not heard; every host's list follows.

    Checked under the room's lock, so a question asked or answered meanwhile stays, with what
    was said under it.
    """
    require_host(event, host)
    with room_change(event) as change:
        prompt = prepared_prompt(event, prompt_id)
        if event.current_prompt_id == prompt.id:
            raise DomainError(STAYS_CURRENT, status=409)
        answered = db.session.scalar(
            sa.select(sa.exists().where(Contribution.prompt_id == prompt.id))
        )
        if prompt.asked_at is not None or answered:
            raise DomainError(STAYS_ASKED, status=409)
        db.session.delete(prompt)
        db.session.flush()
        remaining = prepared_prompts(event)
        for position, each in enumerate(remaining, start=1):
            each.position = position
        tell_hosts(change, [prepared_view(each) for each in remaining])


def ask_prompt(event, host, prompt_id):
    """Put a prepared question to the room, as typing it live would."""
    require_host(event, host)
    if not whole_number(prompt_id):
        raise DomainError("prompt_id must be a number.")
    with room_change(event) as change:
        prompt = prepared_prompt(event, prompt_id)
        if prompt.asked_at is None:
            prompt.asked_at = utcnow()
        event.current_prompt_id = prompt.id
        change.record("prompt", {"prompt": prompt_view(prompt)})
    return prompt


def ask_next_prompt(event, host):
    """Ask the first prepared question, in order, that the room has not heard yet."""
    require_host(event, host)
    waiting = db.session.scalar(
        sa.select(Prompt.id)
        .where(Prompt.event_id == event.id, Prompt.prepared, Prompt.asked_at.is_(None))
        .order_by(Prompt.position, Prompt.id)
        .limit(1)
    )
    if waiting is None:
        raise DomainError(ALL_ASKED, status=409)
    return ask_prompt(event, host, waiting)


def copy_prepared_prompts(source, copy):
    """Give a copy of an event ("run it again") the same prepared questions, none asked, tied
    to the copy's agenda item of the same title."""
    items = {item.title: item for item in copy.agenda_items}
    for prompt in prepared_prompts(source):
        title = prompt.agenda_item.title if prompt.agenda_item else None
        db.session.add(
            Prompt(
                event_id=copy.id,
                text=prompt.text,
                prepared=True,
                position=prompt.position,
                agenda_item=items.get(title),
            )
        )
    db.session.commit()
