"""The harvest page, its exports and sketch notes, and the hosts' tools to compose it."""

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from .. import events, moderation, sketches
from ..errors import DomainError
from ..extensions import limiter
from ..harvest import editorial, exports, gathering, poem, sharing
from ..invites import public_url
from ..security import page_number
from ..visibility import harvest_access

bp = Blueprint("harvest", __name__)


def open_harvest(slug):
    """The event and how the viewer may see its harvest; NotFound if they may not."""
    event = sharing.find_event(slug)
    key = request.args.get("key") or None
    access = harvest_access(event, current_user, key)
    if access != "public":
        # Hosts' previews and secret links must not sit in shared caches.
        g.private_page = True
    return event, access, key if access == "secret" else None


@bp.get("/events/<slug>/harvest")
def show(slug):
    event, access, key = open_harvest(slug)
    gathered = gathering.gather_harvest(
        event,
        shown_per_prompt=current_app.config["HARVEST_SHOWN_PER_PROMPT"],
        shown_phrases=current_app.config["HARVEST_SHOWN_PHRASES"],
    )
    return render_template(
        "harvest/harvest.html",
        harvest=gathered,
        event=event,
        access=access,
        key=key,
        live=sharing.is_live(event),
        canonical_url=public_url("harvest.show", slug=slug),
    )


@bp.get("/events/<slug>/harvest/prompts/<int:prompt_id>")
@bp.get("/events/<slug>/harvest/other-reflections", defaults={"prompt_id": None})
def prompt_page(slug, prompt_id):
    event, access, key = open_harvest(slug)
    page = request.args.get("page", 1, type=page_number)
    per_page = current_app.config["HARVEST_PAGE_SIZE"]
    section = gathering.gather_prompt_page(event, prompt_id, page, per_page)
    pages = max(1, -(-section.total // per_page))
    return render_template(
        "harvest/prompt.html",
        event=event,
        section=section,
        page=page,
        pages=pages,
        first=(page - 1) * per_page + 1,
        access=access,
        key=key,
    )


@bp.get("/events/<slug>/harvest/contributions/<int:contribution_id>")
def find_contribution(slug, contribution_id):
    """Where a contribution (e.g. the source of a poem line) sits in its prompt's full list."""
    event, _access, key = open_harvest(slug)
    prompt_id, page = gathering.locate_contribution(
        event, contribution_id, current_app.config["HARVEST_PAGE_SIZE"]
    )
    target = url_for("harvest.prompt_page", slug=slug, prompt_id=prompt_id, page=page, key=key)
    return redirect(f"{target}#c-{contribution_id}")


@bp.get("/events/<slug>/harvest/phrases")
def phrases_page(slug):
    event, access, key = open_harvest(slug)
    return render_template(
        "harvest/phrases.html",
        event=event,
        phrases=gathering.gather_phrases(event),
        access=access,
        key=key,
    )


MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


@bp.get("/events/<slug>/harvest/export.<any(md, csv, json):extension>")
@limiter.limit("30 per minute")
def export(slug, extension):
    """The whole harvest (nothing collapsed) as a download."""
    event, _access, key = open_harvest(slug)
    gathered = gathering.gather_harvest(event)
    url = public_url("harvest.show", slug=slug)

    def sketch_url(note):
        # With the secret link's key when it came through one: the file opens where the page did.
        return public_url("harvest.sketch_image", slug=slug, filename=note.filename, key=key)

    if extension == "md":
        body = exports.harvest_as_markdown(gathered, url, sketch_url)
    elif extension == "csv":
        body = exports.harvest_as_csv(gathered)
    else:
        body = exports.harvest_as_json(gathered, url, sketch_url)
    return Response(
        body,
        content_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{event.slug}-harvest.{extension}"'},
    )


@bp.get("/events/<slug>/harvest/sketches/<filename>")
def sketch_image(slug, filename):
    event, access, _key = open_harvest(slug)
    note = sketches.find_sketch_note(event, filename=filename)
    # No max-age: caches revalidate (ETag) each time, so unpublishing or deleting works at once.
    response = send_from_directory(
        upload_dir(), note.filename, mimetype=sketches.media_type(note), max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    if access != "public":
        response.headers["Cache-Control"] = "private, no-store"
    return response


# Hosts' tools


def upload_dir():
    return current_app.config["UPLOAD_DIR"]


def hosted(slug):
    return events.get_hosted_event(slug, current_user)


def render_edit(
    event, status=200, sketch_error=None, alt_text="", writing=None, writing_error=None
):
    search = request.args.get("q", "")
    contributions, phrases = poem.poem_candidates(event, search)
    secret_url = (
        public_url("harvest.show", slug=event.slug, key=event.harvest_secret)
        if event.harvest_secret
        else None
    )
    g.private_page = True
    return render_template(
        "harvest/edit.html",
        event=event,
        poem=gathering.gather_poem(event),
        candidates=contributions,
        candidate_phrases=phrases,
        search=search,
        secret_url=secret_url,
        sketch_notes=gathering.sketch_notes_of(event),
        sketch_error=sketch_error,
        alt_text=alt_text,
        writing=writing or editorial.editorial_of(event),
        # What the harvest shows now, whatever the form holds after a refusal.
        saved_writing=editorial.editorial_of(event),
        phrases=moderation.phrases_of(event),
        writing_error=writing_error,
        limits=editorial,
        max_megabytes=current_app.config["SKETCH_MAX_BYTES"] // (1024 * 1024),
    ), status


def back_to_edit(slug, anchor=""):
    return redirect(url_for("harvest.edit", slug=slug) + anchor)


@bp.get("/events/<slug>/harvest/edit")
@login_required
def edit(slug):
    return render_edit(hosted(slug))


@bp.post("/events/<slug>/harvest/publish")
@login_required
def publish(slug):
    sharing.publish_harvest(hosted(slug))
    flash("The harvest is published: anyone with the address can see it.", "success")
    return back_to_edit(slug)


@bp.post("/events/<slug>/harvest/unpublish")
@login_required
def unpublish(slug):
    sharing.unpublish_harvest(hosted(slug))
    flash(
        "The harvest is no longer public. A secret link still works until you revoke it.", "success"
    )
    return back_to_edit(slug)


@bp.post("/events/<slug>/harvest/secret-link")
@login_required
def create_secret_link(slug):
    sharing.create_secret_link(hosted(slug))
    flash("A new secret link is ready; any earlier one no longer works.", "success")
    return back_to_edit(slug, "#sharing")


@bp.post("/events/<slug>/harvest/secret-link/revoke")
@login_required
def revoke_secret_link(slug):
    sharing.revoke_secret_link(hosted(slug))
    flash("The secret link is revoked: it no longer opens the harvest.", "success")
    return back_to_edit(slug, "#sharing")


def optional_int(name):
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise DomainError(f"'{value}' is not a whole number.") from None


@bp.post("/events/<slug>/harvest/poem/lines")
@login_required
def add_poem_line(slug):
    event = hosted(slug)
    try:
        poem.add_poem_line(
            event,
            contribution_id=optional_int("contribution_id"),
            phrase_id=optional_int("phrase_id"),
            text=request.form.get("text"),
            stanza=optional_int("stanza"),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Line added to the poem.", "success")
    return back_to_edit(slug, "#poem")


@bp.post("/events/<slug>/harvest/poem")
@login_required
def arrange_poem(slug):
    event = hosted(slug)
    try:
        edits = [
            poem.PoemLineEdit(
                line_id=int(line_id),
                stanza=optional_int(f"line-{line_id}-stanza") or 0,
                position=optional_int(f"line-{line_id}-position") or 0,
                text=request.form.get(f"line-{line_id}-text", ""),
                remove=request.form.get(f"line-{line_id}-remove") == "on",
            )
            for line_id in request.form.getlist("line_id")
            if line_id.isdigit()
        ]
        poem.arrange_poem(event, edits)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The poem is saved.", "success")
    return back_to_edit(slug, "#poem")


@bp.post("/events/<slug>/harvest/writing")
@login_required
def save_writing(slug):
    event = hosted(slug)
    writing = editorial.Editorial(
        introduction=request.form.get("introduction", ""),
        poem_title=request.form.get("poem_title", ""),
        poem=request.form.get("poem", ""),
        poem_credit=request.form.get("poem_credit", ""),
        placement=request.form.get("poem_placement", "beside"),
    )
    try:
        editorial.save_editorial(event, writing)
    except DomainError as error:
        # Shown again with everything as typed, so nothing written is lost.
        return render_edit(event, 400, writing=writing, writing_error=error.message)
    flash("The introduction and the written poem are saved.", "success")
    return back_to_edit(slug, "#writing")


@bp.post("/events/<slug>/harvest/phrases/<int:phrase_id>")
@login_required
def edit_phrase(slug, phrase_id):
    """The live room's correction, after the event: the room hears it too."""
    event = hosted(slug)
    try:
        moderation.edit_phrase(
            event,
            current_user,
            phrase_id,
            request.form.get("text", ""),
            request.form.get("attribution", ""),
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("The phrase is corrected.", "success")
    return back_to_edit(slug, f"#phrase-{phrase_id}")


@bp.post("/events/<slug>/harvest/phrases/<int:phrase_id>/<any(withdraw, restore):action>")
@login_required
def withdraw_or_restore_phrase(slug, phrase_id, action):
    event = hosted(slug)
    change = moderation.withdraw_phrase if action == "withdraw" else moderation.restore_phrase
    try:
        change(event, current_user, phrase_id)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(
            "The phrase is withdrawn from the room and the harvest."
            if action == "withdraw"
            else "The phrase is back in the harvest.",
            "success",
        )
    return back_to_edit(slug, f"#phrase-{phrase_id}")


@bp.post("/events/<slug>/harvest/sketches")
@login_required
def upload_sketch(slug):
    event = hosted(slug)
    upload = request.files.get("image")
    alt_text = request.form.get("alt_text", "")
    try:
        if upload is None or not upload.filename:
            raise sketches.SketchRejected("Choose an image file to upload.")
        sketches.save_sketch_note(
            event,
            upload.stream,
            alt_text,
            upload_dir(),
            max_bytes=current_app.config["SKETCH_MAX_BYTES"],
            max_pixels=current_app.config["SKETCH_MAX_PIXELS"],
        )
    except sketches.SketchRejected as error:
        return render_edit(event, error.status, sketch_error=error.message, alt_text=alt_text)
    flash("Sketch note added to the harvest.", "success")
    return back_to_edit(slug, "#sketches")


@bp.post("/events/<slug>/harvest/sketches/<int:note_id>/delete")
@login_required
def delete_sketch(slug, note_id):
    sketches.delete_sketch_note(hosted(slug), note_id, upload_dir())
    flash("Sketch note deleted.", "success")
    return back_to_edit(slug, "#sketches")
