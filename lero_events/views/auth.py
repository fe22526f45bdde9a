"""Organiser log in and log out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required, login_user, logout_user

from ..accounts import authenticate
from ..extensions import limiter
from ..forms import LoginForm

bp = Blueprint("auth", __name__)


def safe_next(target):
    """Only follow ?next= to a path on this site, never to another host."""
    if target and urlsplit(target).netloc == "" and target.startswith("/"):
        return target
    return url_for("organiser.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        organiser = authenticate(form.email.data, form.password.data)
        if organiser:
            login_user(organiser)
            flash(f"Welcome back, {organiser.name}.", "success")
            return redirect(safe_next(request.args.get("next")))
        form.password.errors.append("That email and password do not match an organiser.")
    return render_template("auth/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("public.index"))
