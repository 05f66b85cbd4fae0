"""Account writes: creating users, roles, passwords. Operations flush; views commit."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from lms import audit
from lms.auth import sessions
from lms.db import affected_rows, utcnow
from lms.exceptions import UserError
from lms.extensions import db
from lms.models import Role, User, UserRole, UserSession

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128

PASSWORD_TOKEN_SALT = "lms.password-token"  # noqa: S105 - a salt name, not a secret
#: Purposes of a password token: "reset" (forgotten password) and "set" (a new account).
TOKEN_PURPOSES = ("reset", "set")


class AccountError(UserError):
    """A request about an account that cannot be carried out; the message says why."""


class LoginFailed(AccountError):
    """Unknown e-mail address or wrong password (deliberately not saying which)."""


class AccountInactive(AccountError):
    """The password is right but the account has been deactivated."""


class InvalidToken(AccountError):
    """A password link that is forged, expired, already used or for a closed account."""


def normalise_email(email: str) -> str:
    """Return the address as stored: trimmed and lower-cased (unique case-insensitively)."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """Return the account with this address, whatever its case, or None."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


# Control characters, and the bidirectional embeddings, overrides and isolates that can make
# a printed name (on a certificate) read differently from the one stored.
HIDDEN_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: Length of ``User.name_latin``.
NAME_LATIN_MAX_LENGTH = 200


def clean_name(name: str) -> str:
    """Return the name trimmed and NFC-normalised; refuse empty names and hidden characters."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise AccountError(_("A name is required."))
    if HIDDEN_CHARACTERS.search(name):
        raise AccountError(
            _("The name contains invisible control characters. Please type it again.")
        )
    return name


def clean_latin_name(name: str | None) -> str:
    """Return the name in Latin letters trimmed and NFC-normalised; it may be empty."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if HIDDEN_CHARACTERS.search(name):
        raise AccountError(
            _("The name contains invisible control characters. Please type it again.")
        )
    if len(name) > NAME_LATIN_MAX_LENGTH:
        raise AccountError(
            _("The name can be at most %(count)s characters.", count=NAME_LATIN_MAX_LENGTH)
        )
    return name


def create_user(
    *,
    email: str,
    name: str,
    password: str | None,
    roles: Iterable[Role] = (Role.TRAINEE,),
    actor: User | None = None,
    locale: str | None = None,
    name_latin: str = "",
) -> User:
    """Create an account; raise AccountError if the e-mail is taken or the password weak."""
    email = normalise_email(email)
    name = clean_name(name)
    if not email:
        raise AccountError(_("An e-mail address is required."))
    if find_user_by_email(email) is not None:
        raise AccountError(
            _("An account with the e-mail address %(email)s already exists.", email=email)
        )
    user = User(email=email, name=name, name_latin=clean_latin_name(name_latin), locale=locale)
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    roles = [Role(role) for role in dict.fromkeys(roles)]
    user.role_rows = [UserRole(role=str(role)) for role in roles]
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, actor=actor, roles=sorted(str(r) for r in roles))
    logger.info("created user %s", user.id)
    return user


def check_password_strength(password: str) -> None:
    """Raise AccountError unless ``password`` is long enough and not absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            _("The password must have at most %(n)s characters.", n=MAX_PASSWORD_LENGTH)
        )


_dummy_hash: str | None = None


def _spend_hashing_time(password: str) -> None:
    """Check ``password`` against a throwaway hash, so unknown e-mails take as long as known."""
    global _dummy_hash
    if _dummy_hash is None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        _dummy_hash = generate_password_hash("not a password", method=method)
    check_password_hash(_dummy_hash, password)


def authenticate(email: str, password: str) -> User:
    """Return the user with these credentials; raise LoginFailed or AccountInactive."""
    user = find_user_by_email(email)
    if user is None or not user.password_hash:
        _spend_hashing_time(password)
        raise LoginFailed(_("The e-mail address or the password is wrong."))
    if not user.check_password(password):
        raise LoginFailed(_("The e-mail address or the password is wrong."))
    if not user.active:
        raise AccountInactive(
            _("This account has been deactivated. Please contact the training centre.")
        )
    return user


def record_login(user: User) -> User:
    """Remember when the user last logged in."""
    user.last_login_at = utcnow()
    db.session.flush()
    logger.info("user %s logged in", user.id)
    return user


def update_profile(
    user: User, *, name: str, locale: str | None, name_latin: str | None = None
) -> User:
    """Change the user's own name and preferred language (``name_latin``: None keeps it)."""
    name = clean_name(name)
    latin = user.name_latin if name_latin is None else clean_latin_name(name_latin)
    if locale is not None and locale not in current_app.config["LANGUAGES"]:
        raise AccountError(_("Unknown language."))
    changes = _changes(user, name=name, name_latin=latin, locale=locale)
    user.name = name
    user.name_latin = latin
    user.locale = locale
    db.session.flush()
    if changes:
        audit.record("user.update_profile", user, actor=user, changes=changes)
    logger.info("user %s updated their profile", user.id)
    return user


def update_user(
    user: User, *, name: str, email: str, actor: User | None, name_latin: str | None = None
) -> User:
    """Change a user's name and e-mail address (an admin's edit; ``name_latin``: None keeps it)."""
    name = clean_name(name)
    latin = user.name_latin if name_latin is None else clean_latin_name(name_latin)
    email = normalise_email(email)
    if not email:
        raise AccountError(_("An e-mail address is required."))
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise AccountError(
            _("An account with the e-mail address %(email)s already exists.", email=email)
        )
    changes = _changes(user, name=name, name_latin=latin, email=email)
    user.name = name
    user.name_latin = latin
    user.email = email
    db.session.flush()
    if changes:
        audit.record("user.update", user, actor=actor, changes=changes)
    logger.info("user %s updated by %s", user.id, getattr(actor, "id", None))
    return user


def set_roles(user: User, roles: Iterable[Role | str], *, actor: User | None) -> User:
    """Give ``user`` exactly ``roles``; an admin cannot take their own admin role away."""
    wanted = {Role(r) for r in roles}
    current = set(user.roles)
    if actor is not None and actor.id == user.id and Role.ADMIN in current - wanted:
        raise AccountError(_("You cannot remove your own admin role."))
    if wanted == current:
        return user
    user.role_rows = [row for row in user.role_rows if Role(row.role) in wanted]
    for role in sorted(wanted - current):
        user.role_rows.append(UserRole(role=str(role)))
    db.session.flush()
    audit.record(
        "user.set_roles",
        user,
        actor=actor,
        added=sorted(str(r) for r in wanted - current),
        removed=sorted(str(r) for r in current - wanted),
    )
    logger.info("roles of user %s set to %s", user.id, sorted(wanted))
    return user


def deactivate(user: User, *, actor: User | None) -> User:
    """Close an account: the user cannot log in and their sessions stop working."""
    if actor is not None and actor.id == user.id:
        raise AccountError(_("You cannot deactivate your own account."))
    if not user.active:
        return user
    user.active = False
    sessions.end_all(user, reason="deactivated")
    db.session.flush()
    audit.record("user.deactivate", user, actor=actor)
    logger.info("user %s deactivated", user.id)
    return user


def reactivate(user: User, *, actor: User | None) -> User:
    """Open a closed account again."""
    if user.active:
        return user
    user.active = True
    db.session.flush()
    audit.record("user.reactivate", user, actor=actor)
    logger.info("user %s reactivated", user.id)
    return user


def change_password(
    user: User,
    *,
    current: str,
    new: str,
    keep: UserSession | None = None,
    revoke_tokens: bool = False,
) -> User:
    """Change the user's own password, given the current one.

    Every session but ``keep`` (the one the user is changing it in) ends; with
    ``revoke_tokens`` the user's API tokens are revoked too.
    """
    if not user.check_password(current):
        raise AccountError(_("The current password is wrong."))
    check_password_strength(new)
    user.set_password(new)
    sessions.end_all(user, reason="password", keep=keep)
    revoked = revoke_api_tokens(user, actor=user) if revoke_tokens else 0
    db.session.flush()
    audit.record("user.change_password", user, actor=user, tokens_revoked=revoked)
    logger.info("user %s changed their password", user.id)
    return user


def revoke_api_tokens(user: User, *, actor: User | None) -> int:
    """Revoke every usable API token of ``user``; return how many."""
    # Imported here: the API package imports the account forms, which import this module.
    from lms.api.models import ApiToken

    now = utcnow()
    revoked = affected_rows(
        db.session.execute(
            sa.update(ApiToken)
            .where(
                ApiToken.user_id == user.id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session="fetch")
        )
    )
    if revoked:
        audit.record("user.revoke_api_tokens", user, actor=actor, count=revoked)
    logger.info("revoked %s API tokens of user %s", revoked, user.id)
    return revoked


def set_password(user: User, password: str, *, actor: User | None) -> User:
    """Set a password without knowing the old one (an admin's act); ends the user's sessions."""
    check_password_strength(password)
    user.set_password(password)
    sessions.end_all(user, reason="password")
    db.session.flush()
    audit.record("user.set_password", user, actor=actor)
    logger.info("password of user %s set by %s", user.id, getattr(actor, "id", None))
    return user


# --- password links --------------------------------------------------------
# A token names the user, the security stamp and the e-mail address it was sent
# to. Setting a password bumps the stamp, so a token works once; changing the
# address invalidates links sent to the old one.


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=PASSWORD_TOKEN_SALT)


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def _max_age(purpose: str) -> int:
    if purpose == "set":
        return int(current_app.config["PASSWORD_SET_MAX_AGE"])
    return int(current_app.config["PASSWORD_RESET_MAX_AGE"])


def make_password_token(user: User, purpose: str = "reset") -> str:
    """Return a signed link token that lets ``user`` choose a new password once."""
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    payload = {"u": user.id, "s": user.security_stamp, "e": _email_digest(user.email)}
    return _serializer().dumps({**payload, "p": purpose})


def user_for_password_token(token: str) -> User:
    """Return the user a password token is valid for; raise InvalidToken otherwise."""
    serializer = _serializer()
    try:
        payload = serializer.loads(token)  # signature first: the purpose decides the max age
        purpose = payload.get("p") if isinstance(payload, dict) else None
        if purpose not in TOKEN_PURPOSES:
            raise InvalidToken(_("This link is not valid."))
        serializer.loads(token, max_age=_max_age(purpose))
    except SignatureExpired as error:
        raise InvalidToken(_("This link has expired. Please ask for a new one.")) from error
    except BadSignature as error:
        raise InvalidToken(_("This link is not valid.")) from error
    user = db.session.get(User, payload.get("u")) if isinstance(payload.get("u"), int) else None
    if (
        user is None
        or user.security_stamp != payload.get("s")
        or _email_digest(user.email) != payload.get("e")
    ):
        raise InvalidToken(_("This link has already been used or is no longer valid."))
    if not user.active:
        raise InvalidToken(
            _("This account has been deactivated. Please contact the training centre.")
        )
    return user


def reset_password_with_token(token: str, new_password: str) -> User:
    """Set a new password through an e-mailed link; the link cannot be used again.

    Whoever may have learnt the old password is shut out: every session ends and
    every API token is revoked.
    """
    user = user_for_password_token(token)
    check_password_strength(new_password)
    user.set_password(new_password)
    sessions.end_all(user, reason="password")
    revoked = revoke_api_tokens(user, actor=user)
    db.session.flush()
    audit.record("user.reset_password", user, actor=user, tokens_revoked=revoked)
    logger.info("user %s set a password through an e-mailed link", user.id)
    return user


def password_link(token: str) -> str:
    """Return the absolute link to the password page, built from BASE_URL, never the Host."""
    path = current_app.url_map.bind("localhost").build("auth.reset_password", {"token": token})
    return current_app.config["BASE_URL"].rstrip("/") + path


def without_password_links(text: str) -> str:
    """Return ``text`` with the tokens of its password links cut off.

    For the copy of an e-mail kept once it was sent: the recipient's inbox holds the
    only working link, not the database or its backups.
    """
    prefix = password_link("-")[:-1]
    return re.sub(re.escape(prefix) + r"[A-Za-z0-9_.\-]+", prefix + "…", text)


def send_password_email(user: User, purpose: str = "reset") -> None:
    """E-mail ``user`` a link to choose a password, in the user's language."""
    link = password_link(make_password_token(user, purpose))
    hours = max(1, _max_age(purpose) // 3600)
    centre = current_app.config["CENTRE_NAME"]
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        if purpose == "set":
            subject = _("Your account at %(centre)s", centre=centre)
            intro = _(
                "An account has been created for you at %(centre)s. "
                "Choose your password with this link:",
                centre=centre,
            )
        else:
            subject = _("Reset your password at %(centre)s", centre=centre)
            intro = _(
                "Someone asked to reset the password of your account at %(centre)s. "
                "If it was you, choose a new password with this link:",
                centre=centre,
            )
        body = "\n\n".join(
            [
                _("Hello %(name)s,", name=user.name),
                intro,
                link,
                ngettext(
                    "The link works once and expires in %(num)s hour.",
                    "The link works once and expires in %(num)s hours.",
                    hours,
                ),
                _("If you did not expect this message, you can ignore it."),
            ]
        )
    _send_later(user, subject, body)
    logger.info("password %s link queued for user %s", purpose, user.id)


def _send_later(user: User, subject: str, body: str) -> None:
    """Store the e-mail to ``user`` and let a job send it, as notifications are sent.

    The job gets the e-mail's id only: a password link is in the stored body, which
    must carry it until it is sent, and nowhere else (not in the job's arguments, logs
    or audit log).
    """
    from notifications.models import OutgoingMail
    from notifications.operations import send_later

    mail = OutgoingMail(user_id=user.id, recipient=user.email, subject=subject, text=body + "\n")
    send_later(mail)


def register_trainee(*, email: str, name: str, locale: str | None) -> User | None:
    """Create a trainee account and e-mail it a link to choose a password; return it.

    If the address already has an account, its owner is told by e-mail that someone
    tried to register with it, and None is returned: the page cannot tell the two apart.
    """
    existing = find_user_by_email(email)
    if existing is None:
        try:
            with db.session.begin_nested():
                user = create_user(email=email, name=name, password=None, locale=locale)
        except sa.exc.IntegrityError:  # registered a moment ago by another request
            existing = find_user_by_email(email)
        else:
            send_password_email(user, "set")
            return user
    if existing is not None:
        _send_registration_notice(existing)
    return None


def _send_registration_notice(user: User) -> None:
    """Tell an account's owner that someone tried to register with their address."""
    centre = current_app.config["CENTRE_NAME"]
    base = current_app.config["BASE_URL"].rstrip("/")
    urls = current_app.url_map.bind("localhost")
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        subject = _("Registration attempt at %(centre)s", centre=centre)
        body = "\n\n".join(
            [
                _("Hello %(name)s,", name=user.name),
                _(
                    "Someone tried to create an account at %(centre)s with your e-mail "
                    "address. You already have one: log in here:",
                    centre=centre,
                ),
                base + urls.build("auth.login"),
                _("If you have forgotten your password, choose a new one here:"),
                base + urls.build("auth.forgot_password"),
                _("If you did not expect this message, you can ignore it."),
            ]
        )
    _send_later(user, subject, body)
    logger.info("registration notice queued for user %s", user.id)


def request_password_reset(email: str) -> User | None:
    """Send a reset link if an active account has this address; say nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        logger.info("password reset asked for an unknown or inactive address")
        return None
    send_password_email(user, "reset")
    return user


def _changes(user: User, **values) -> dict:
    """Return ``{field: [old, new]}`` for the values that differ on ``user``."""
    return {
        field: [getattr(user, field), value]
        for field, value in values.items()
        if getattr(user, field) != value
    }
