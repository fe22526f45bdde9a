"""Sketch notes: images hosts upload to the harvest, checked and re-encoded with Pillow.

An upload is untrusted: its name, extension and declared type say nothing. Pillow decodes it,
refuses anything but PNG, JPEG and WebP within the byte and pixel limits, and re-encodes the
pixels only, so metadata such as the GPS position in a phone photo never reaches the page.
The decoding runs off the server's event loop (serving.off_the_event_loop).
"""

import io
import secrets
import struct
import warnings
from pathlib import Path

import sqlalchemy as sa
from PIL import Image, ImageOps

from .errors import DomainError, NotFound
from .extensions import db
from .models import SketchNote
from .serving import off_the_event_loop

MAX_BYTES = 8 * 1024 * 1024
# A phone photo is 12 to 24 megapixels. Above this the upload is refused from its header
# alone, before any decoding: 40 megapixels took a second of CPU to decode.
MAX_PIXELS = 25_000_000
MAX_ALT_TEXT = 500
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
MEDIA_TYPES = {extension: media_type for extension, media_type in FORMATS.values()}

# Pillow warns above this and refuses above twice this; we refuse above it ourselves.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class SketchRejected(DomainError):
    """An upload we will not keep; the message tells the host why."""


def read_limited(stream, max_bytes):
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SketchRejected(
            f"That image is larger than {max_bytes // (1024 * 1024)} MB; "
            "export it smaller and try again.",
            status=413,
        )
    if not data:
        raise SketchRejected("Choose an image file to upload.")
    return data


def clean_image(data, max_pixels):
    """The image re-encoded from its pixels, its size and format; SketchRejected otherwise."""
    too_many = SketchRejected(
        f"That image has more than {max_pixels / 1_000_000:g} megapixels; resize it and try again."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only our three decoders ever see the bytes.
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
            image_format = image.format
            width, height = image.size
            if width * height > max_pixels:
                raise too_many
            image.seek(0)
            image.load()
            encoded, size = reencode(image, image_format)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many from None
    except SketchRejected:
        raise
    # Broken or hostile files fail inside Pillow in many ways; all mean the same to the host.
    except (OSError, ValueError, SyntaxError, EOFError, struct.error):
        raise SketchRejected(
            "That file is not a PNG, JPEG or WebP image we can read. Upload one of those."
        ) from None
    return encoded, size, image_format


def reencode(image, image_format):
    """Only the pixels, upright, in the same format: no EXIF, GPS, XMP or comments."""
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    buffer = io.BytesIO()
    options = {"JPEG": {"quality": 90, "optimize": True}, "WEBP": {"quality": 90}, "PNG": {}}
    clean.save(buffer, format=image_format, **options[image_format])
    return buffer.getvalue(), clean.size


def save_sketch_note(
    event, stream, alt_text, upload_dir, max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS
):
    """Check, clean and store an uploaded image; nothing is saved if any check fails."""
    alt_text = " ".join((alt_text or "").split())
    if not alt_text:
        raise SketchRejected(
            "Describe the sketch note in the alt text, for people who cannot see the image."
        )
    if len(alt_text) > MAX_ALT_TEXT:
        raise SketchRejected(f"Keep the alt text to {MAX_ALT_TEXT} characters.")
    # Decoding takes CPU for up to a second: in a thread of its own, so the server keeps
    # answering everyone else (the live room included) meanwhile.
    encoded, (width, height), image_format = off_the_event_loop(
        clean_image, read_limited(stream, max_bytes), max_pixels
    )

    extension = FORMATS[image_format][0]
    filename = f"{secrets.token_urlsafe(16)}.{extension}"
    directory = Path(upload_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_bytes(encoded)
    position = (
        db.session.scalar(
            sa.select(sa.func.max(SketchNote.position)).where(SketchNote.event_id == event.id)
        )
        or 0
    ) + 1
    note = SketchNote(
        event_id=event.id,
        filename=filename,
        alt_text=alt_text,
        width=width,
        height=height,
        position=position,
    )
    db.session.add(note)
    try:
        db.session.commit()
    except Exception:
        (directory / filename).unlink(missing_ok=True)
        raise
    return note


def find_sketch_note(event, filename=None, note_id=None):
    query = sa.select(SketchNote).where(SketchNote.event_id == event.id)
    query = query.where(
        SketchNote.filename == filename if filename is not None else SketchNote.id == note_id
    )
    note = db.session.scalar(query)
    if note is None:
        raise NotFound("That sketch note is not part of this harvest.")
    return note


def media_type(note):
    return MEDIA_TYPES[note.filename.rsplit(".", 1)[1]]


def delete_sketch_note(event, note_id, upload_dir):
    note = find_sketch_note(event, note_id=note_id)
    db.session.delete(note)
    db.session.commit()
    (Path(upload_dir) / note.filename).unlink(missing_ok=True)
