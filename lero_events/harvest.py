"""The harvest: what an event's participants and speakers said, gathered and shared.

Who may see it, what it shows (only what authors allowed), the found poem hosts compose from
it, publishing and the secret link, and the Markdown, CSV and JSON exports.
"""

import csv
import hmac
import io
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .errors import DomainError, NotFound
from .extensions import db
from .models import (
    Contribution,
    Event,
    Phrase,
    PoemLine,
    Prompt,
    Registration,
    Resonance,
    SketchNote,
    utcnow,
)

ANONYMOUS = "Anonymous"
MOST_RESONANT = 5
TOP_WORDS = 40
WORD_SIZES = 5
MAX_POEM_LINE = 500
NOT_SHARED = (
    "This harvest has not been shared yet. If a host sent you a link, it may have been "
    "withdrawn: ask them for a new one."
)

# Common English words that say little about what was discussed.
STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each even ever every few for from further get gets getting
    got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
    him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just
    let's like lot lots made make makes many may me might more most much must mustn't my myself
    need needs no nor not now of off often on once one only or other ought our ours ourselves out
    over own really same say said says see seen shall shan't she she'd she'll she's should
    shouldn't so some something still such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've thing things think this those
    though through to too under until up upon us very was wasn't way we we'd we'll we're we've
    well were weren't what what's when when's where where's which while who who's whom why why's
    will with won't would wouldn't yes yet you you'd you'll you're you've your yours yourself
    yourselves
"""
STOP_WORDS = frozenset(STOP_WORDS_TEXT.split())
WORD_PATTERN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


@dataclass
class ShownContribution:
    """A contribution as the harvest shows it: only what its author allowed."""

    id: int
    text: str
    author: str
    prompt: str
    resonances: int
    featured: bool
    created_at: datetime


@dataclass
class PromptSection:
    id: int | None
    text: str
    contributions: list[ShownContribution]
    total: int

    @property
    def hidden(self):
        return self.total - len(self.contributions)


@dataclass
class ShownPhrase:
    id: int
    text: str
    attribution: str
    created_at: datetime


@dataclass
class ShownPoemLine:
    id: int
    text: str
    stanza: int
    position: int
    contribution_id: int | None
    phrase_id: int | None
    original: str


@dataclass
class Word:
    word: str
    count: int
    size: int


@dataclass
class Figures:
    """The day in numbers; DEFINITIONS says what each counts, on the page and in exports."""

    signed_up: int
    took_part: int
    contributions: int
    voices_heard: int
    organisations: int

    DEFINITIONS = {
        "signed_up": (
            "Signed up",
            "everyone who registered, including the waiting list and those who later cancelled",
        ),
        "took_part": (
            "Took part",
            "people who posted at least one contribution in the live room, shown or not",
        ),
        "contributions": ("Contributions", "approved by the hosts and shared here"),
        "voices_heard": (
            "Voices heard",
            "people whose contributions are shown, plus the named speakers of captured phrases",
        ),
        "organisations": (
            "Organisations represented",
            "different organisations named by people holding a place",
        ),
    }

    def rows(self):
        return [
            (key, label, getattr(self, key), meaning)
            for key, (label, meaning) in self.DEFINITIONS.items()
        ]


@dataclass
class Harvest:
    event: Event
    sections: list[PromptSection]
    phrases: list[ShownPhrase]
    phrase_total: int
    most_resonant: list[ShownContribution]
    poem: list[list[ShownPoemLine]]
    words: list[Word]
    figures: Figures
    sketch_notes: list[SketchNote] = field(default_factory=list)

    @property
    def summary(self):
        """One sentence for link previews and search results."""
        f = self.figures
        return (
            f"{plural(f.contributions, 'contribution')} and "
            f"{plural(self.phrase_total, 'phrase')} we heard, from "
            f"{plural(f.voices_heard, 'voice')}."
        )

    @property
    def is_empty(self):
        return not (self.phrases or self.poem or self.sketch_notes) and not any(
            section.total for section in self.sections
        )


def plural(count, word):
    return f"{count} {word if count == 1 else word + 's'}"


# Who may see it


def find_event(slug):
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    if event is None:
        raise NotFound("There is no event at that address.")
    return event


def harvest_access(event, viewer=None, key=None):
    """How `viewer` may see the harvest: "host", "public" or "secret"; NotFound otherwise.

    Hosts see it from the start; everyone once it is published; holders of the secret link
    until a host revokes it. A draft event's harvest is for its hosts only.
    """
    if event.is_hosted_by(viewer):
        return "host"
    if event.status != "draft":
        if event.harvest_published:
            return "public"
        if (
            key
            and event.harvest_secret
            and hmac.compare_digest(key.encode(), event.harvest_secret.encode())
        ):
            return "secret"
    raise NotFound(NOT_SHARED)


# The page follows the live room from an hour before the start until two hours after the end,
# while hosts finish moderating.
LIVE_BEFORE = timedelta(hours=1)
LIVE_AFTER = timedelta(hours=2)


def is_live(event, now=None):
    now = now or utcnow()
    return (
        event.status == "published"
        and event.starts_at - LIVE_BEFORE <= now <= event.ends_at + LIVE_AFTER
    )


def publish_harvest(event):
    if event.status == "draft":
        raise DomainError("Publish the event itself before sharing its harvest.", status=409)
    event.harvest_published = True
    db.session.commit()
    return event


def unpublish_harvest(event):
    event.harvest_published = False
    db.session.commit()
    return event


def create_secret_link(event):
    """A new unlisted key (256 random bits); any earlier link stops working."""
    event.harvest_secret = secrets.token_urlsafe(32)
    db.session.commit()
    return event.harvest_secret


def revoke_secret_link(event):
    event.harvest_secret = None
    db.session.commit()


# What it shows


def author_name(contribution):
    """The name the author chose to show, or Anonymous; erased registrations show no name."""
    if contribution.anonymous:
        return ANONYMOUS
    registration = contribution.registration
    if registration is not None:
        if registration.erased_at is not None:
            return ANONYMOUS
        return registration.display_name.strip() or ANONYMOUS
    return (contribution.guest_name or "").strip() or ANONYMOUS


def approved_contributions(event):
    return sa.select(Contribution).where(
        Contribution.event_id == event.id, Contribution.status == "approved"
    )


def visible_phrases(event):
    return sa.select(Phrase).where(Phrase.event_id == event.id, Phrase.withdrawn.is_(False))


def resonance_counts(event, contribution_ids=None):
    query = (
        sa.select(Resonance.contribution_id, sa.func.count())
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id, Contribution.status == "approved")
        .group_by(Resonance.contribution_id)
    )
    if contribution_ids is not None:
        query = query.where(Resonance.contribution_id.in_(contribution_ids))
    return dict(db.session.execute(query).all())


def show_contribution(contribution, prompts, resonances):
    return ShownContribution(
        id=contribution.id,
        text=contribution.text,
        author=author_name(contribution),
        prompt=prompts.get(contribution.prompt_id, ""),
        resonances=resonances.get(contribution.id, 0),
        featured=contribution.featured,
        created_at=contribution.created_at,
    )


def event_prompts(event):
    return db.session.scalars(
        sa.select(Prompt).where(Prompt.event_id == event.id).order_by(Prompt.created_at, Prompt.id)
    ).all()


def contributions_in_order(event, prompt_id, limit=None, offset=0):
    """Approved contributions for one prompt (None: posted without a prompt), oldest first."""
    query = (
        approved_contributions(event)
        .where(
            Contribution.prompt_id.is_(None)
            if prompt_id is None
            else Contribution.prompt_id == prompt_id
        )
        .options(selectinload(Contribution.registration))
        .order_by(Contribution.created_at, Contribution.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return db.session.scalars(query).all()


def gather_sections(event, prompts, shown_per_prompt=None):
    """Each prompt with its approved contributions, at most `shown_per_prompt` of each."""
    totals = dict(
        db.session.execute(
            sa.select(Contribution.prompt_id, sa.func.count())
            .where(Contribution.event_id == event.id, Contribution.status == "approved")
            .group_by(Contribution.prompt_id)
        ).all()
    )
    query = approved_contributions(event).options(selectinload(Contribution.registration))
    if shown_per_prompt is not None:
        ranked = (
            sa.select(
                Contribution.id,
                sa.func.row_number()
                .over(
                    partition_by=Contribution.prompt_id,
                    order_by=(Contribution.created_at, Contribution.id),
                )
                .label("rank"),
            )
            .where(Contribution.event_id == event.id, Contribution.status == "approved")
            .subquery()
        )
        query = query.join(ranked, ranked.c.id == Contribution.id).where(
            ranked.c.rank <= shown_per_prompt
        )
    contributions = db.session.scalars(
        query.order_by(Contribution.created_at, Contribution.id)
    ).all()
    prompt_texts = {prompt.id: prompt.text for prompt in prompts}
    resonances = resonance_counts(event, [c.id for c in contributions])
    by_prompt = {}
    for contribution in contributions:
        by_prompt.setdefault(contribution.prompt_id, []).append(
            show_contribution(contribution, prompt_texts, resonances)
        )
    sections = [
        PromptSection(
            prompt.id, prompt.text, by_prompt.get(prompt.id, []), totals.get(prompt.id, 0)
        )
        for prompt in prompts
    ]
    if totals.get(None):
        sections.append(
            PromptSection(None, "Other reflections", by_prompt.get(None, []), totals[None])
        )
    return sections


def gather_most_resonant(event, prompts, limit=MOST_RESONANT):
    resonated = (
        sa.select(Resonance.contribution_id, sa.func.count().label("resonances"))
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id)
        .group_by(Resonance.contribution_id)
        .subquery()
    )
    rows = db.session.execute(
        approved_contributions(event)
        .add_columns(resonated.c.resonances)
        .join(resonated, resonated.c.contribution_id == Contribution.id)
        .options(selectinload(Contribution.registration))
        .order_by(resonated.c.resonances.desc(), Contribution.created_at, Contribution.id)
        .limit(limit)
    ).all()
    prompt_texts = {prompt.id: prompt.text for prompt in prompts}
    return [
        show_contribution(contribution, prompt_texts, {contribution.id: count})
        for contribution, count in rows
    ]


def gather_phrases(event, limit=None, offset=0):
    query = visible_phrases(event).order_by(Phrase.created_at, Phrase.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [
        ShownPhrase(phrase.id, phrase.text, phrase.attribution.strip(), phrase.created_at)
        for phrase in db.session.scalars(query)
    ]


def count_phrases(event):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Phrase)
        .where(Phrase.event_id == event.id, Phrase.withdrawn.is_(False))
    )


def gather_poem(event):
    """The poem's lines grouped into stanzas; lines whose source was withdrawn drop out."""
    rows = db.session.execute(
        sa.select(PoemLine, Contribution.text, Phrase.text)
        .outerjoin(Contribution, Contribution.id == PoemLine.contribution_id)
        .outerjoin(Phrase, Phrase.id == PoemLine.phrase_id)
        .where(
            PoemLine.event_id == event.id,
            sa.or_(
                Contribution.status == "approved",
                sa.and_(PoemLine.phrase_id.is_not(None), Phrase.withdrawn.is_(False)),
            ),
        )
        .order_by(PoemLine.stanza, PoemLine.position, PoemLine.id)
    ).all()
    stanzas = {}
    for line, contribution_text, phrase_text in rows:
        stanzas.setdefault(line.stanza, []).append(
            ShownPoemLine(
                id=line.id,
                text=line.text,
                stanza=line.stanza,
                position=line.position,
                contribution_id=line.contribution_id,
                phrase_id=line.phrase_id,
                original=contribution_text if line.contribution_id else phrase_text,
            )
        )
    return [stanzas[number] for number in sorted(stanzas)]


def count_words(texts, limit=TOP_WORDS):
    """The words that came up most, stop words removed, each with a size step 1..WORD_SIZES."""
    # One pass over all the text at once: ten times faster than word by word in Python.
    counter = Counter(WORD_PATTERN.findall("\n".join(texts).replace("\u2019", "'").lower()))
    for word in [word for word in counter if len(word) < 3 or word in STOP_WORDS]:
        del counter[word]
    top = [(word, count) for word, count in counter.most_common(limit) if count > 1] or list(
        counter.most_common(min(limit, 10))
    )
    if not top:
        return []
    most, least = top[0][1], min(count for _word, count in top)

    def size(count):
        if most == least:
            return 2
        return 1 + round((WORD_SIZES - 1) * (count - least) / (most - least))

    return [
        Word(word, count, size(count))
        for word, count in sorted(top, key=lambda pair: (-pair[1], pair[0]))
    ]


# Counting words is the slowest part of a large harvest (~100 ms for 10,000 contributions),
# so each worker keeps the result until the set of approved texts changes.
_word_cache = {}
WORD_CACHE_SIZE = 64


def words_fingerprint(event):
    """Changes whenever a contribution or phrase joins or leaves the harvest."""
    contributions = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Contribution.id), 0)).where(
            Contribution.event_id == event.id, Contribution.status == "approved"
        )
    ).one()
    phrases = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Phrase.id), 0)).where(
            Phrase.event_id == event.id, Phrase.withdrawn.is_(False)
        )
    ).one()
    # created_at tells apart events that reuse an id in another (e.g. a test's) database.
    return (event.id, event.created_at, *contributions, *phrases)


def gather_words(event):
    fingerprint = words_fingerprint(event)
    if fingerprint in _word_cache:
        return _word_cache[fingerprint]
    texts = db.session.scalars(
        sa.select(Contribution.text).where(
            Contribution.event_id == event.id, Contribution.status == "approved"
        )
    ).all()
    texts += db.session.scalars(
        sa.select(Phrase.text).where(Phrase.event_id == event.id, Phrase.withdrawn.is_(False))
    ).all()
    words = count_words(texts)
    if len(_word_cache) >= WORD_CACHE_SIZE:
        _word_cache.pop(next(iter(_word_cache)))
    _word_cache[fingerprint] = words
    return words


def gather_figures(event):
    def count(query):
        return db.session.scalar(query) or 0

    approved_authors = count(
        sa.select(sa.func.count(sa.distinct(Contribution.author_key))).where(
            Contribution.event_id == event.id, Contribution.status == "approved"
        )
    )
    speakers = {
        attribution.strip().casefold()
        for attribution in db.session.scalars(
            sa.select(Phrase.attribution).where(
                Phrase.event_id == event.id, Phrase.withdrawn.is_(False)
            )
        )
        if attribution.strip()
    }
    organisations = {
        organisation.strip().casefold()
        for organisation in db.session.scalars(
            sa.select(Registration.organisation).where(
                Registration.event_id == event.id,
                Registration.status == "confirmed",
                Registration.erased_at.is_(None),
            )
        )
        if organisation.strip()
    }
    return Figures(
        signed_up=count(
            sa.select(sa.func.count())
            .select_from(Registration)
            .where(Registration.event_id == event.id)
        ),
        took_part=count(
            sa.select(sa.func.count(sa.distinct(Contribution.author_key))).where(
                Contribution.event_id == event.id
            )
        ),
        contributions=count(
            sa.select(sa.func.count())
            .select_from(Contribution)
            .where(Contribution.event_id == event.id, Contribution.status == "approved")
        ),
        voices_heard=approved_authors + len(speakers),
        organisations=len(organisations),
    )


def sketch_notes_of(event):
    return db.session.scalars(
        sa.select(SketchNote)
        .where(SketchNote.event_id == event.id)
        .order_by(SketchNote.position, SketchNote.id)
    ).all()


def gather_harvest(event, shown_per_prompt=None, shown_phrases=None):
    """Everything the harvest page shows; None means no limit (the exports take it all)."""
    prompts = event_prompts(event)
    return Harvest(
        event=event,
        sections=gather_sections(event, prompts, shown_per_prompt),
        phrases=gather_phrases(event, limit=shown_phrases),
        phrase_total=count_phrases(event),
        most_resonant=gather_most_resonant(event, prompts),
        poem=gather_poem(event),
        words=gather_words(event),
        figures=gather_figures(event),
        sketch_notes=sketch_notes_of(event),
    )


def gather_prompt_page(event, prompt_id, page, per_page):
    """One page of every approved contribution for a prompt (None: no prompt)."""
    prompts = event_prompts(event)
    if prompt_id is None:
        title = "Other reflections"
    else:
        prompt = next((p for p in prompts if p.id == prompt_id), None)
        if prompt is None:
            raise NotFound("That prompt is not part of this event.")
        title = prompt.text
    contributions = contributions_in_order(event, prompt_id, per_page, (page - 1) * per_page)
    resonances = resonance_counts(event, [c.id for c in contributions])
    prompt_texts = {p.id: p.text for p in prompts}
    total = db.session.scalar(
        approved_contributions(event)
        .where(
            Contribution.prompt_id.is_(None)
            if prompt_id is None
            else Contribution.prompt_id == prompt_id
        )
        .with_only_columns(sa.func.count())
    )
    shown = [show_contribution(c, prompt_texts, resonances) for c in contributions]
    return PromptSection(prompt_id, title, shown, total)


def locate_contribution(event, contribution_id, per_page):
    """(prompt_id, page) where an approved contribution appears on its prompt's full list."""
    contribution = db.session.scalar(
        approved_contributions(event).where(Contribution.id == contribution_id)
    )
    if contribution is None:
        raise NotFound("That contribution is not part of this harvest.")
    same_prompt = (
        Contribution.prompt_id.is_(None)
        if contribution.prompt_id is None
        else Contribution.prompt_id == contribution.prompt_id
    )
    before = db.session.scalar(
        approved_contributions(event)
        .where(
            same_prompt,
            sa.or_(
                Contribution.created_at < contribution.created_at,
                sa.and_(
                    Contribution.created_at == contribution.created_at,
                    Contribution.id < contribution.id,
                ),
            ),
        )
        .with_only_columns(sa.func.count())
    )
    return contribution.prompt_id, before // per_page + 1


# The found poem


def normalise(text):
    return " ".join(text.split()).casefold()


def poem_source(event, contribution_id=None, phrase_id=None):
    """The approved contribution or visible phrase a poem line is cut from, and its text."""
    if contribution_id is not None:
        source = db.session.scalar(
            approved_contributions(event).where(Contribution.id == contribution_id)
        )
    elif phrase_id is not None:
        source = db.session.scalar(visible_phrases(event).where(Phrase.id == phrase_id))
    else:
        source = None
    if source is None:
        raise DomainError(
            "Only approved contributions and captured phrases of this event can go in the poem.",
            status=404,
        )
    return source


def check_fragment(fragment, original):
    """A poem line is found, not written: it must be the original's own words, in order.

    Case and spacing may change; anything else must appear in the original as it stands.
    """
    fragment = " ".join((fragment or "").split())
    if not fragment:
        raise DomainError("A poem line cannot be empty: remove it instead.")
    if len(fragment) > MAX_POEM_LINE:
        raise DomainError(f"A poem line can be at most {MAX_POEM_LINE} characters.")
    if normalise(fragment) not in normalise(original):
        raise DomainError(
            f"'{fragment}' is not part of the original words, which stay as they were said: "
            f"trim the line to a fragment of '{original}'."
        )
    return fragment


def add_poem_line(event, contribution_id=None, phrase_id=None, text=None, stanza=None):
    """Add a line cut from a contribution or phrase, at the end of `stanza` (default: last)."""
    source = poem_source(event, contribution_id, phrase_id)
    fragment = check_fragment(source.text if text is None else text, source.text)
    last = db.session.execute(
        sa.select(PoemLine.stanza, PoemLine.position)
        .where(PoemLine.event_id == event.id)
        .order_by(PoemLine.stanza.desc(), PoemLine.position.desc())
        .limit(1)
    ).first()
    if stanza is None:
        stanza = last.stanza if last else 1
    if stanza < 1:
        raise DomainError("Stanzas are numbered from 1.")
    position = (
        db.session.scalar(
            sa.select(sa.func.max(PoemLine.position)).where(
                PoemLine.event_id == event.id, PoemLine.stanza == stanza
            )
        )
        or 0
    ) + 1
    line = PoemLine(
        event_id=event.id,
        stanza=stanza,
        position=position,
        text=fragment,
        contribution_id=contribution_id if phrase_id is None else None,
        phrase_id=phrase_id,
    )
    db.session.add(line)
    db.session.commit()
    return line


@dataclass
class PoemLineEdit:
    """A host's arrangement of one line: where it goes, its trimmed text, or its removal."""

    line_id: int
    stanza: int
    position: int
    text: str
    remove: bool = False


def arrange_poem(event, edits):
    """Apply a host's order, stanzas, trims and removals to the poem in one go."""
    lines = {
        line.id: line
        for line in db.session.scalars(sa.select(PoemLine).where(PoemLine.event_id == event.id))
    }
    problems = []
    for edit in edits:
        line = lines.get(edit.line_id)
        if line is None:
            raise DomainError("That poem line is no longer there; reload the page.", status=409)
        if edit.remove:
            db.session.delete(line)
            continue
        if edit.stanza < 1 or edit.position < 1:
            problems.append("Stanza and order numbers start at 1.")
            continue
        original = (
            db.session.get(Contribution, line.contribution_id).text
            if line.contribution_id
            else db.session.get(Phrase, line.phrase_id).text
        )
        try:
            line.text = check_fragment(edit.text, original)
        except DomainError as problem:
            problems.append(problem.message)
        line.stanza, line.position = edit.stanza, edit.position
    if problems:
        db.session.rollback()
        raise DomainError(" ".join(problems))
    db.session.commit()
    renumber_poem(event)


def renumber_poem(event):
    """Close gaps so stanzas are 1, 2, 3... and lines 1, 2, 3... within each."""
    lines = db.session.scalars(
        sa.select(PoemLine)
        .where(PoemLine.event_id == event.id)
        .order_by(PoemLine.stanza, PoemLine.position, PoemLine.id)
    ).all()
    stanza_numbers = {
        old: new for new, old in enumerate(sorted({line.stanza for line in lines}), 1)
    }
    positions = Counter()
    for line in lines:
        line.stanza = stanza_numbers[line.stanza]
        positions[line.stanza] += 1
        line.position = positions[line.stanza]
    db.session.commit()


def poem_candidates(event, search="", limit=50):
    """Approved contributions and phrases a host may cut lines from: featured and most
    resonant first, filtered by `search`."""
    prompts = {p.id: p.text for p in event_prompts(event)}
    resonated = (
        sa.select(Resonance.contribution_id, sa.func.count().label("resonances"))
        .group_by(Resonance.contribution_id)
        .subquery()
    )
    contributions = approved_contributions(event)
    phrases = visible_phrases(event)
    if search.strip():
        pattern = (
            "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        contributions = contributions.where(Contribution.text.ilike(pattern, escape="\\"))
        phrases = phrases.where(Phrase.text.ilike(pattern, escape="\\"))
    rows = db.session.execute(
        contributions.add_columns(sa.func.coalesce(resonated.c.resonances, 0))
        .outerjoin(resonated, resonated.c.contribution_id == Contribution.id)
        .options(selectinload(Contribution.registration))
        .order_by(
            Contribution.featured.desc(),
            sa.func.coalesce(resonated.c.resonances, 0).desc(),
            Contribution.created_at,
        )
        .limit(limit)
    ).all()
    shown = [show_contribution(c, prompts, {c.id: count}) for c, count in rows]
    phrase_rows = db.session.scalars(phrases.order_by(Phrase.created_at).limit(limit)).all()
    return shown, [ShownPhrase(p.id, p.text, p.attribution, p.created_at) for p in phrase_rows]


# Exports

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#|~&!])")


def markdown_text(text):
    """User text as inert Markdown: one line, special characters backslash-escaped."""
    text = MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    # A line starting like a list item, heading or rule would change the structure.
    return re.sub(r"^([-+=]|\d+[.)])", r"\\\1", text)


def harvest_as_markdown(harvest, url):
    event = harvest.event
    out = [f"# {markdown_text(event.title)}: the harvest", ""]
    out += [f"{event.local_starts_at:%A %d %B %Y}. Shared from <{url}>.", ""]
    if harvest.poem:
        out += ["## The found poem", ""]
        for stanza in harvest.poem:
            out += [markdown_text(line.text) + "  " for line in stanza]
            out.append("")
    for section in harvest.sections:
        out += [f"## {markdown_text(section.text)}", ""]
        out += [
            f"- {markdown_text(c.text)} ({markdown_text(c.author)})" for c in section.contributions
        ]
        out.append("")
    if harvest.phrases:
        out += ["## Phrases we heard", ""]
        for phrase in harvest.phrases:
            by = f" ({markdown_text(phrase.attribution)})" if phrase.attribution else ""
            out.append(f"- {markdown_text(phrase.text)}{by}")
        out.append("")
    if harvest.most_resonant:
        out += ["## What resonated most", ""]
        out += [
            f"- {markdown_text(c.text)} ({markdown_text(c.author)}, resonated with {c.resonances})"
            for c in harvest.most_resonant
        ]
        out.append("")
    if harvest.words:
        out += ["## The words that came up most", ""]
        out += [", ".join(f"{markdown_text(w.word)} ({w.count})" for w in harvest.words), ""]
    out += ["## The day in figures", ""]
    out += [
        f"- {label}: {value} ({meaning})" for _key, label, value, meaning in harvest.figures.rows()
    ]
    out.append("")
    if harvest.sketch_notes:
        out += ["## Sketch notes", ""]
        out += [f"- {markdown_text(note.alt_text)}" for note in harvest.sketch_notes]
        out.append("")
    return "\n".join(out)


def csv_cell(value):
    """A cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def harvest_as_csv(harvest):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "prompt", "text", "author", "resonances", "time", "stanza"])
    for stanza_number, stanza in enumerate(harvest.poem, 1):
        for line in stanza:
            writer.writerow(map(csv_cell, ["poem", "", line.text, "", "", "", stanza_number]))
    for section in harvest.sections:
        for c in section.contributions:
            writer.writerow(
                map(
                    csv_cell,
                    [
                        "contribution",
                        section.text,
                        c.text,
                        c.author,
                        c.resonances,
                        c.created_at.isoformat(),
                        "",
                    ],
                )
            )
    for phrase in harvest.phrases:
        writer.writerow(
            map(
                csv_cell,
                [
                    "phrase",
                    "",
                    phrase.text,
                    phrase.attribution,
                    "",
                    phrase.created_at.isoformat(),
                    "",
                ],
            )
        )
    for _key, label, value, _meaning in harvest.figures.rows():
        writer.writerow(map(csv_cell, ["figure", "", label, "", value, "", ""]))
    return buffer.getvalue()


def harvest_as_data(harvest, url):
    def contribution(c):
        return {
            "id": c.id,
            "text": c.text,
            "author": c.author,
            "prompt": c.prompt,
            "resonances": c.resonances,
            "featured": c.featured,
            "created_at": c.created_at.isoformat(),
        }

    event = harvest.event
    return {
        "event": {
            "title": event.title,
            "slug": event.slug,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "timezone": event.timezone,
            "url": url,
        },
        "poem": [[line.text for line in stanza] for stanza in harvest.poem],
        "prompts": [
            {"text": s.text, "contributions": [contribution(c) for c in s.contributions]}
            for s in harvest.sections
        ],
        "phrases": [
            {"text": p.text, "attribution": p.attribution, "created_at": p.created_at.isoformat()}
            for p in harvest.phrases
        ],
        "most_resonant": [contribution(c) for c in harvest.most_resonant],
        "words": [{"word": w.word, "count": w.count} for w in harvest.words],
        "figures": {key: value for key, _label, value, _meaning in harvest.figures.rows()},
        "sketch_notes": [{"alt_text": n.alt_text} for n in harvest.sketch_notes],
    }


def harvest_as_json(harvest, url):
    """JSON with <, > and & escaped as \\u sequences, so no consumer can mistake it for HTML."""
    text = json.dumps(harvest_as_data(harvest, url), ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
