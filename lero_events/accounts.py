"""Organiser accounts: creation and password checks (argon2)."""

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from .errors import DomainError
from .extensions import db
from .models import Organiser, new_session_key

password_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def normalise_email(email):
    """The canonical form of an address, or a DomainError saying why it is not one."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise DomainError(f"That email address does not look right: {error}") from None


def find_organiser(email):
    return db.session.scalar(sa.select(Organiser).where(Organiser.email == email))


def create_organiser(email, name, password):
    email = normalise_email(email)
    name = name.strip()
    if not name:
        raise DomainError("An organiser needs a name.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    if find_organiser(email):
        raise DomainError(f"An organiser with the email {email} already exists.", status=409)
    organiser = Organiser(email=email, name=name, password_hash=password_hasher.hash(password))
    db.session.add(organiser)
    db.session.commit()
    return organiser


def set_password(organiser, password):
    """A new password ends every session logged in with the old one (a stolen cookie too)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")
    organiser.password_hash = password_hasher.hash(password)
    organiser.session_key = new_session_key()
    db.session.commit()


def end_sessions(organiser):
    """Log the organiser out everywhere: every session cookie made so far stops working."""
    organiser.session_key = new_session_key()
    db.session.commit()


def authenticate(email, password):
    """The organiser with this email and password, or None; same answer for either mistake."""
    try:
        organiser = find_organiser(normalise_email(email))
    except DomainError:
        return None
    if organiser is None:
        # Hash anyway so a wrong email takes as long as a wrong password.
        password_hasher.hash(password)
        return None
    try:
        password_hasher.verify(organiser.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if password_hasher.check_needs_rehash(organiser.password_hash):
        organiser.password_hash = password_hasher.hash(password)
        db.session.commit()
    return organiser
