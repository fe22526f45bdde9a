"""Sketch notes: uploads checked and re-encoded by Pillow, served safely, over HTTP."""

import io
import re
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from lero_events.extensions import db
from lero_events.models import Event, SketchNote

from .conftest import PASSWORD, create_event, create_organiser, csrf_token, login
from .test_harvest import set_event, text_of

GPS_IFD = 0x8825


def image_bytes(image_format="PNG", size=(64, 48), mode="RGB", **save):
    buffer = io.BytesIO()
    Image.new(mode, size, (30, 120, 90) if mode == "RGB" else 1).save(
        buffer, format=image_format, **save
    )
    return buffer.getvalue()


def jpeg_with_gps():
    """A phone-like JPEG: GPS position, camera make and a description in its EXIF."""
    image = Image.new("RGB", (80, 60), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x010E] = "Taken at the venue"  # ImageDescription
    exif[0x0112] = 1  # Orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (53.0, 48.0, 0.0)
    gps[3] = "W"
    gps[4] = (1.0, 32.0, 0.0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD), "the test image has GPS"
    return data


@pytest.fixture
def host(app, client):
    with app.app_context():
        create_event(slug="sketchy")
    login(client)
    return client


def upload(client, data, alt_text="A hand-drawn map of the day's themes", filename="sketch.png"):
    token = csrf_token(client, "/events/sketchy/harvest/edit")
    # Encoded in memory: the test client would spool a large body to a file it never closes.
    boundary, body = encode_multipart(
        {
            "csrf_token": token,
            "alt_text": alt_text,
            **({"image": FileStorage(io.BytesIO(data), filename)} if data is not None else {}),
        }
    )
    return client.post(
        "/events/sketchy/harvest/sketches",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def fetch(client, filename):
    """GET an image and close the response (a served file stays open until closed)."""
    with client.get(f"/events/sketchy/harvest/sketches/{filename}") as response:
        response.get_data()
        return response


def stored(app):
    with app.app_context():
        notes = db.session.scalars(sa.select(SketchNote)).all()
        return [(n.filename, n.alt_text, n.width, n.height) for n in notes]


def upload_dir(app):
    return Path(app.config["UPLOAD_DIR"])


def saved_files(app):
    directory = upload_dir(app)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.mark.parametrize(
    ("image_format", "extension", "media_type"),
    [("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")],
)
def test_host_uploads_a_sketch_note_that_is_served_safely(
    app, host, image_format, extension, media_type
):
    response = upload(host, image_bytes(image_format), filename="whatever.bin")
    assert response.status_code == 302
    [(filename, alt_text, width, height)] = stored(app)
    assert filename.endswith(f".{extension}") and "whatever" not in filename
    assert len(filename.split(".")[0]) >= 22, "a random name of at least 128 bits"
    assert (width, height) == (64, 48)
    assert saved_files(app) == [filename]

    served = fetch(host, filename)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == media_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in served.headers["Cache-Control"], "unpublished: not for shared caches"
    assert Image.open(io.BytesIO(served.data)).format == image_format

    page = host.get("/events/sketchy/harvest").get_data(as_text=True)
    assert (
        f'<img src="/events/sketchy/harvest/sketches/{filename}" '
        f'alt="A hand-drawn map of the day&#39;s themes" width="64" height="48"'
    ) in page


def test_gps_and_other_exif_are_stripped(app, host):
    original = jpeg_with_gps()
    assert upload(host, original, filename="photo.jpg").status_code == 302
    [(filename, *_)] = stored(app)
    served = fetch(host, filename).data
    image = Image.open(io.BytesIO(served))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not image.getexif().get_ifd(GPS_IFD)
    assert "exif" not in image.info
    assert b"PhoneMaker" not in served and b"Taken at the venue" not in served
    assert b"PhoneMaker" in original


def test_png_text_chunks_are_stripped(app, host):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address: 1 Secret Street")
    assert upload(host, image_bytes("PNG", pnginfo=info)).status_code == 302
    [(filename, *_)] = stored(app)
    served = fetch(host, filename).data
    assert b"Secret Street" not in served


def assert_refused(app, response, status, message):
    assert response.status_code == status
    page = text_of(response)
    assert message in page
    assert stored(app) == [] and saved_files(app) == [], "nothing saved"
    return page


def test_missing_alt_text_is_refused_and_nothing_saved(app, host):
    page = assert_refused(
        app,
        upload(host, image_bytes(), alt_text="   "),
        400,
        "Describe the sketch note in the alt text",
    )
    assert 'role="alert"' in page


def test_other_file_types_are_refused_whatever_they_are_called(app, host):
    message = "That file is not a PNG, JPEG or WebP image we can read"
    assert_refused(app, upload(host, image_bytes("GIF"), filename="sketch.png"), 400, message)
    assert_refused(app, upload(host, b"<svg onload=alert(1)>", filename="x.png"), 400, message)
    truncated = image_bytes("PNG", size=(300, 300))[:200]
    assert_refused(app, upload(host, truncated), 400, message)


def test_a_missing_file_is_refused(app, host):
    assert_refused(app, upload(host, None), 400, "Choose an image file to upload")


def test_too_many_bytes_are_refused_and_the_alt_text_kept(app, host):
    app.config["SKETCH_MAX_BYTES"] = 1024 * 1024
    big = image_bytes("PNG", size=(1200, 1200), mode="RGB", compress_level=0)
    assert len(big) > 1024 * 1024
    page = assert_refused(
        app, upload(host, big, alt_text="Kept for the retry"), 413, "larger than 1 MB"
    )
    assert "Kept for the retry" in page


def test_too_many_pixels_are_refused(app, host):
    app.config["SKETCH_MAX_PIXELS"] = 10_000
    assert_refused(
        app, upload(host, image_bytes(size=(101, 100))), 400, "more than 0.01 megapixels"
    )


def test_a_decompression_bomb_is_refused_at_the_default_limit(app, host):
    # 100 megapixels of one colour: a few hundred kilobytes on disk, 300 MB once decoded.
    bomb = image_bytes("PNG", size=(10_000, 10_000), mode="1")
    assert len(bomb) < 8 * 1024 * 1024
    assert_refused(app, upload(host, bomb), 400, "more than 25 megapixels")


def test_host_deletes_a_sketch_note(app, host):
    upload(host, image_bytes())
    [(filename, *_)] = stored(app)
    with app.app_context():
        note_id = db.session.scalar(sa.select(SketchNote.id))
    token = csrf_token(host, "/events/sketchy/harvest/edit")
    response = host.post(
        f"/events/sketchy/harvest/sketches/{note_id}/delete", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert stored(app) == [] and saved_files(app) == []
    assert fetch(host, filename).status_code == 404


def test_sketch_notes_follow_the_harvests_visibility(app, host):
    upload(host, image_bytes())
    [(filename, *_)] = stored(app)
    visitor = app.test_client()
    assert fetch(visitor, filename).status_code == 404
    with app.app_context():
        set_event("sketchy", harvest_published=True)
    served = fetch(visitor, filename)
    assert served.status_code == 200
    assert "no-cache" in served.headers["Cache-Control"], "revalidated: unpublishing works at once"
    assert served.headers["ETag"]
    page = visitor.get("/events/sketchy/harvest").get_data(as_text=True)
    image_url = f"http://localhost/events/sketchy/harvest/sketches/{filename}"
    assert f'<meta property="og:image" content="{image_url}">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert "/events/sketchy/harvest/sketches/../" not in page
    assert visitor.get("/events/sketchy/harvest/sketches/..%2Fsecret_key").status_code == 404


def test_only_hosts_upload(app, client):
    with app.app_context():
        create_event(slug="sketchy")
        create_organiser("other@example.org", "Other")
    login(client, "other@example.org")
    token = csrf_token(client, "/organiser/")
    response = client.post(
        "/events/sketchy/harvest/sketches",
        data={"csrf_token": token, "alt_text": "x", "image": (io.BytesIO(image_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert stored(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(Event.harvest_published)) is False


def test_a_sideways_phone_photo_is_stored_upright(app, host):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 10, 10)).save(buffer, format="JPEG", exif=exif)
    assert upload(host, buffer.getvalue(), filename="sideways.jpg").status_code == 302
    [(filename, _alt, width, height)] = stored(app)
    assert (width, height) == (60, 80)
    served = Image.open(io.BytesIO(fetch(host, filename).data))
    assert served.size == (60, 80) and 0x0112 not in served.getexif()


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_real_server_decodes_uploads_in_a_thread_and_refuses_40_megapixels(
    app, start_server, async_mode
):
    """Through the server's threadpool (gevent) or tpool (eventlet), as in production; the
    figures for the event loop staying free are in bench/sketch_upload.py."""
    with app.app_context():
        create_event(slug="sketchy")
    server = start_server(async_mode)
    with requests.Session() as browser:
        page = browser.get(f"{server.url}/login", timeout=10).text
        browser.post(
            f"{server.url}/login",
            data={
                "email": "organiser@example.org",
                "password": PASSWORD,
                "csrf_token": csrf_in(page),
            },
            timeout=10,
        )

        def send(data):
            edit = browser.get(f"{server.url}/events/sketchy/harvest/edit", timeout=10).text
            return browser.post(
                f"{server.url}/events/sketchy/harvest/sketches",
                data={"csrf_token": csrf_in(edit), "alt_text": "A map of the day"},
                files={"image": ("sketch.jpg", data, "image/jpeg")},
                timeout=60,
            )

        forty = send(image_bytes("JPEG", size=(8000, 5000)))
        assert forty.status_code == 400
        assert "more than 25 megapixels" in forty.text
        kept = send(jpeg_with_gps())
        assert kept.status_code == 200 and "Sketch note added" in kept.text
        [(filename, *_)] = stored(app)
        served = browser.get(f"{server.url}/events/sketchy/harvest/sketches/{filename}", timeout=10)
    assert not Image.open(io.BytesIO(served.content)).getexif().get_ifd(GPS_IFD)


def csrf_in(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
