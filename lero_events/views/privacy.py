"""The privacy notices: one per organiser, and the list of them."""

from flask import Blueprint, render_template

from .. import privacy

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
def index():
    return render_template("privacy/index.html", controllers=privacy.controllers())


@bp.get("/privacy/<int:organiser_id>")
def notice(organiser_id):
    return render_template("privacy/notice.html", notice=privacy.notice_for(organiser_id))
