"""Organiser log in and log out, forgotten passwords, and joining as an invited co-host."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import team
from ..accounts import authenticate, end_sessions, set_password
from ..errors import DomainError
from ..extensions import limiter
from ..forms import AcceptInvitationForm, ForgotPasswordForm, LoginForm, NewPasswordForm

bp = Blueprint("auth", __name__)

RESET_SENT = (
    "If that address has an organiser account, a link to choose a new password is on its "
    "way to it. It works once, for an hour."
)


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
    # A copy of this session's cookie (a shared computer, a stolen cookie) dies with it.
    end_sessions(current_user._get_current_object())
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("public.index"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        team.request_password_reset(form.email.data)
        # The same words whether or not the address has an account.
        flash(RESET_SENT, "success")
        return redirect(url_for(".login"), 303)
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token):
    g.private_page = True
    organiser = team.organiser_for_reset_token(token)
    form = NewPasswordForm()
    if form.validate_on_submit():
        set_password(organiser, form.password.data)
        flash("Your password is changed. Log in with it now.", "success")
        return redirect(url_for(".login"), 303)
    return render_template(
        "auth/new_password.html", form=form, organiser=organiser
    ), 400 if form.errors else 200


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    g.private_page = True
    invitation = team.invitation_for_token(token)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            organiser = team.accept_invitation(invitation, form.name.data, form.password.data)
        except DomainError as error:
            form.name.errors.append(error.message)
        else:
            login_user(organiser)
            flash(f"Welcome, {organiser.name}: you co-host {invitation.event.title}.", "success")
            return redirect(url_for("organiser.edit_event", slug=invitation.event.slug), 303)
    return render_template(
        "auth/accept_invitation.html", form=form, invitation=invitation
    ), 400 if form.errors else 200
