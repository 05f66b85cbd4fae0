"""Pages: my notifications, e-mail choices, the calendar address, one-click unsubscribe."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.extensions import csrf, db
from lms.forms import ConfirmForm
from lms.models import Role, User
from notifications import calendar, messages
from notifications import operations as ops
from notifications.forms import PreferencesForm
from notifications.models import CalendarFeed, Kind, Notification

bp = Blueprint("notifications", __name__, template_folder="templates")

LIST_LIMIT = 100

#: The kinds each role can receive, for the preferences page.
ROLE_KINDS = {
    Role.TRAINEE: [
        Kind.ENROLMENT_CONFIRMED,
        Kind.PROMOTED,
        Kind.COHORT_STARTS,
        Kind.ASSIGNMENT_DUE,
        Kind.GRADE_RELEASED,
        Kind.CERTIFICATE_ISSUED,
        Kind.CERTIFICATE_SUSPENDED,
        Kind.CERTIFICATE_REVOKED,
        Kind.CERTIFICATE_EXPIRING,
        Kind.RENEWAL_DUE,
    ],
    Role.INSTRUCTOR: [Kind.NEW_SUBMISSIONS],
    Role.CERTIFIER: [Kind.NEWLY_ELIGIBLE],
}


def kinds_for(user: User) -> list[Kind]:
    wanted = {kind for role, kinds in ROLE_KINDS.items() if user.has_role(role) for kind in kinds}
    return [kind for kind in Kind if kind in wanted] or ROLE_KINDS[Role.TRAINEE]


@bp.get("/notifications")
@login_required
def index():
    items = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    return render_template(
        "notifications/index.html",
        items=items,
        message=messages.message,
        form=ConfirmForm(),
    )


@bp.post("/notifications/read")
@login_required
def read_all():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ops.mark_read(current_user)
    return redirect(url_for(".index"))


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_one(notification_id: int):
    item = db.get_or_404(Notification, notification_id)
    if item.user_id != current_user.id or not ConfirmForm().validate_on_submit():
        abort(404)
    ops.mark_read(current_user, [item.id])
    return redirect(item.link or url_for(".index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    user = current_user._get_current_object()
    kinds = kinds_for(user)
    current = ops.deliveries(user)
    form = PreferencesForm.for_kinds(kinds)(
        data={f"kind_{kind}": str(current[kind]) for kind in kinds}
    )
    if form.validate_on_submit():
        for kind in kinds:
            ops.set_delivery(user, kind, form[f"kind_{kind}"].data)
        flash(_("Your notification choices are saved."), "success")
        return redirect(url_for(".preferences"))
    return render_template(
        "notifications/preferences.html",
        form=form,
        fields=[form[f"kind_{kind}"] for kind in kinds],
        has_feed=db.session.get(CalendarFeed, user.id) is not None,
        confirm=ConfirmForm(),
    )


@bp.post("/notifications/calendar")
@login_required
def calendar_new():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = ops.new_calendar_token(current_user)
    url = ops.absolute(url_for(".calendar_feed", token=token))
    return render_template("notifications/calendar_created.html", url=url)


@bp.post("/notifications/calendar/revoke")
@login_required
def calendar_revoke():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ops.revoke_calendar(current_user)
    flash(_("Your calendar address no longer works."), "success")
    return redirect(url_for(".preferences"))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    user = ops.calendar_user(token)
    if user is None or not user.active:
        abort(404)
    response = Response(calendar.feed(user), mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    found = ops.read_unsubscribe_token(token)
    if found is None:
        abort(404)
    _user, kind = found
    return render_template(
        "notifications/unsubscribe.html", token=token, label=messages.label(kind), done=False
    )


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # the signed token is the proof; mail clients post it without a session
def unsubscribe_confirm(token: str):
    found = ops.read_unsubscribe_token(token)
    if found is None:
        abort(404)
    user, kind = found
    ops.set_delivery(user, kind, "off")
    return render_template(
        "notifications/unsubscribe.html", token=token, label=messages.label(kind), done=True
    )


def unread_badge() -> int:
    """The navbar's unread count for the logged-in user (0 for visitors)."""
    if not current_user.is_authenticated:
        return 0
    return ops.unread_count(current_user)
