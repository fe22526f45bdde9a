"""How people are named wherever others see them: the live room, the harvest, its exports and
the evidence all call these, so a name shows the same way (or not at all) everywhere.

The room shows the name an author posts under (`author_name`); the harvest, its exports and
every harvest-shaped view of the room show it only where the author chose "named" for that
reflection (`harvest_name`, consent.py)."""

ANONYMOUS = "Anonymous"


def shown_name(name):
    """A chosen name as others see it: trimmed, or Anonymous when there is none."""
    return (name or "").strip() or ANONYMOUS


def registration_name(registration):
    """The live-room name a registered person chose; an erased registration has none."""
    if registration.erased_at is not None:
        return ANONYMOUS
    return shown_name(registration.display_name)


def author_name(contribution):
    """The name shown with a contribution: the author's choice, else Anonymous."""
    if contribution.anonymous:
        return ANONYMOUS
    if contribution.registration is not None:
        return registration_name(contribution.registration)
    return shown_name(contribution.guest_name)


def harvest_name(contribution):
    """The name the harvest shows: the room's name only where the author chose "named"."""
    if contribution.sharing != "named":
        return ANONYMOUS
    return author_name(contribution)
