"""Admin pages: users and their roles."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import web
from lms.admin.forms import UserCreateForm, UserEditForm, UserFilterForm
from lms.admin.queries import users_statement
from lms.auth import operations as ops
from lms.auth.forms import ROLE_LABELS
from lms.extensions import db
from lms.models import Role, User
from lms.paging import page_arg, paginate
from lms.permissions import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@roles_required(Role.ADMIN)
def users():
    form = UserFilterForm(request.args)
    form.validate()
    search = form.q.data if not form.q.errors else None
    role = form.role.data if not form.role.errors else None
    status = form.status.data if not form.status.errors else None
    pagination = paginate(
        users_statement(search=search, role=role, status=status),
        page=page_arg(),
        per_page=current_app.config["PER_PAGE"],
    )
    filters = {k: v for k, v in {"q": search, "role": role, "status": status}.items() if v}
    return render_template(
        "admin/users.html",
        form=form,
        pagination=pagination,
        filters=filters,
        role_labels=ROLE_LABELS,
    )


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    if request.method == "GET":
        form.roles.data = [Role.TRAINEE.value]
    if form.validate_on_submit():
        try:
            user = ops.create_user(
                email=form.email.data,
                name=form.name.data,
                name_latin=form.name_latin.data or "",
                password=form.password.data or None,
                roles=[Role(r) for r in form.roles.data],
                actor=current_user._get_current_object(),
            )
            if not form.password.data:
                ops.send_password_email(user, "set")
        except ops.AccountError as failure:
            web.refuse()
            flash(str(failure), "danger")
        else:
            if form.password.data:
                flash(
                    _("The account of %(name)s has been created.", name=user.display_name),
                    "success",
                )
            else:
                flash(
                    _(
                        "The account of %(name)s has been created and a link to choose a "
                        "password has been sent to %(email)s.",
                        name=user.name,
                        email=user.email,
                    ),
                    "success",
                )
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserEditForm(obj=user, user=user)
    if request.method == "GET":
        form.roles.data = sorted(r.value for r in user.roles)
    if form.validate_on_submit():
        actor = current_user._get_current_object()
        try:
            ops.update_user(
                user,
                name=form.name.data,
                email=form.email.data,
                actor=actor,
                name_latin=form.name_latin.data,
            )
            ops.set_roles(user, form.roles.data, actor=actor)
            if form.active.data:
                ops.reactivate(user, actor=actor)
            else:
                ops.deactivate(user, actor=actor)
        except ops.AccountError as failure:
            web.refuse()
            flash(str(failure), "danger")
        else:
            flash(_("The account of %(name)s has been saved.", name=user.display_name), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.post("/users/<int:user_id>/password-link")
@roles_required(Role.ADMIN)
def user_send_password_link(user_id: int):
    """E-mail the user a link to choose a new password (CSRF is checked app-wide)."""
    user = db.get_or_404(User, user_id)
    if not user.active:
        flash(_("This account is deactivated; activate it first."), "warning")
    else:
        ops.send_password_email(user, "reset" if user.password_hash else "set")
        flash(_("A password link has been sent to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))
