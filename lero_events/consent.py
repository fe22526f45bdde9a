"""What each author allowed for their reflection beyond the room, and taking one down.

When posting, a person chooses how the reflection may appear in the published harvest:
without their name ("anonymous", the default), with the name they post under ("named"), or
not at all ("room": only in the live room during the session). The rules that honour it live
with the others: naming.harvest_name and visibility.shown_in_harvest, for the harvest page, its
exports and every harvest-shaped view of the live room. From their private page an author can
take a reflection down (self_service.take_down).
"""

from .errors import DomainError

# The choices, as the participant's form and their private page word them.
SHARING = {
    "anonymous": "In the harvest, without my name",
    "named": "In the harvest, with my name",
    "room": "Only in the room during the session",
}
DEFAULT_SHARING = "anonymous"
# The same choices as the posting form asks them, default first.
ASKED = (
    ("anonymous", "Share it without my name"),
    ("named", "Share it with my name"),
    ("room", "Keep it to the room during the session"),
)


def clean_sharing(value):
    """A sharing choice from a client; missing means the default."""
    if value is None:
        return DEFAULT_SHARING
    if not isinstance(value, str) or value not in SHARING:
        raise DomainError("sharing must be one of anonymous, named or room.")
    return value
