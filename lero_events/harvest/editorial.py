"""What hosts write for the harvest, as an editor would: an introduction, and a poem someone
wrote from the session in their own words and line breaks, credited to them, shown beside or
instead of the found poem (which stays made only of what was said)."""

from dataclasses import dataclass

from ..errors import DomainError
from ..extensions import db
from ..writing import plain_lines

MAX_INTRODUCTION = 5000
MAX_POEM = 5000
MAX_TITLE = 200
MAX_CREDIT = 200
# Where the written poem goes: beside the found poem (both shown), or instead of it (the found
# poem stays composed, ready, but the harvest page and its exports leave it out).
PLACEMENTS = {
    "beside": "Beside the found poem",
    "instead": "Instead of the found poem",
}
INSTEAD_WITHOUT_POEM = (
    "To show a written poem instead of the found poem, write the poem first, "
    "or choose to show it beside the found poem."
)


@dataclass
class Editorial:
    introduction: str = ""
    poem_title: str = ""
    poem: str = ""
    poem_credit: str = ""
    placement: str = "beside"

    @property
    def replaces_found_poem(self):
        return self.placement == "instead" and bool(self.poem)


def editorial_of(event):
    return Editorial(
        introduction=event.harvest_introduction,
        poem_title=event.written_poem_title,
        poem=event.written_poem,
        poem_credit=event.written_poem_credit,
        placement=event.written_poem_placement,
    )


def save_editorial(event, editorial):
    """Check and keep the hosts' words; nothing is saved when any of them is refused."""
    introduction = plain_lines(editorial.introduction)
    poem = plain_lines(editorial.poem)
    title = " ".join((editorial.poem_title or "").split())
    credit = " ".join((editorial.poem_credit or "").split())
    problems = []
    for label, text, limit in (
        ("The introduction", introduction, MAX_INTRODUCTION),
        ("The poem", poem, MAX_POEM),
        ("The poem's title", title, MAX_TITLE),
        ("The poem's credit", credit, MAX_CREDIT),
    ):
        if len(text) > limit:
            problems.append(f"{label} can be at most {limit} characters (it has {len(text)}).")
    if poem and not credit:
        problems.append("Say who wrote the poem: it is published with their name.")
    if (title or credit) and not poem:
        problems.append("Write the poem itself, or clear its title and credit.")
    if editorial.placement not in PLACEMENTS:
        problems.append("Choose whether the written poem goes beside or instead of the found poem.")
    elif editorial.placement == "instead" and not poem:
        problems.append(INSTEAD_WITHOUT_POEM)
    if problems:
        raise DomainError(" ".join(problems))
    event.harvest_introduction = introduction
    event.written_poem_title = title
    event.written_poem = poem
    event.written_poem_credit = credit
    event.written_poem_placement = editorial.placement
    db.session.commit()
    return editorial_of(event)
