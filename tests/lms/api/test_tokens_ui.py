"""The account pages that create, list and revoke personal access tokens."""

import functools
import hashlib
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.api.models import ApiToken
from lms.models import AuditLog, Role
from tests.api_helpers import bearer


@pytest.fixture
def login_as(login_as):
    """Log in as someone who has just typed the password, as creating a token needs."""
    return functools.partial(login_as, password_confirmed=True)


def _tokens(db, user):
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).all()


def _form(**overrides):
    data = {
        "name": "HR <system>",
        "scopes": ["read"],
        "expires_on": (date.today() + timedelta(days=30)).isoformat(),
    }
    data.update(overrides)
    return data


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_account_page_links_to_tokens(client, login_as):
    login_as(Role.TRAINEE)
    assert 'href="/account/tokens"' in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.TRAINEE, {"read", "learn"}),
        (Role.INSTRUCTOR, {"read", "teach"}),
        (Role.CERTIFIER, {"read", "certify"}),
        (Role.EMPLOYER, {"read"}),
        (Role.ADMIN, {"read", "learn", "teach", "certify", "admin"}),
    ],
)
def test_only_the_roles_scopes_are_offered(client, login_as, role, offered):
    login_as(role)
    html = client.get("/account/tokens").get_data(as_text=True)
    assert set(re.findall(r'name="scopes" required type="checkbox" value="(\w+)"', html)) == offered


def test_created_token_is_shown_once_and_stored_hashed(client, db, login_as):
    user = login_as(Role.TRAINEE)
    response = client.post_form("/account/tokens", _form(scopes=["read", "learn"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', html).group(1)
    assert secret.startswith("s4c_")
    assert len(secret) >= 40
    assert "HR &lt;system&gt;" in html
    (token,) = _tokens(db, user)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.prefix, token.secret_hash)
    assert token.scopes == "read learn"
    assert (
        db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "api_token.create")).actor_id
        == user.id
    )
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in listing
    assert token.prefix in listing
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "line\nbreak"},
        {"scopes": []},
        {"scopes": ["teach"]},  # a trainee may not
        {"scopes": ["root"]},
        {"expires_on": ""},
        {"expires_on": "not a date"},
        {"expires_on": date.today().isoformat()},
        {"expires_on": (date.today() + timedelta(days=400)).isoformat()},
    ],
)
def test_bad_input_creates_nothing(client, db, login_as, overrides):
    user = login_as(Role.TRAINEE)
    response = client.post_form("/account/tokens", _form(**overrides))
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert _tokens(db, user) == []


def test_revoke_stops_the_token(client, db, login_as):
    user = login_as(Role.TRAINEE)
    html = client.post_form("/account/tokens", _form()).get_data(as_text=True)
    secret = re.search(r'id="token-secret">([^<]+)<', html).group(1)
    (token,) = _tokens(db, user)
    response = client.post_form(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert token.revoked_at is not None
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    # Revoking twice changes nothing.
    revoked_at = token.revoked_at
    client.post_form(f"/account/tokens/{token.id}/revoke")
    db.session.expire_all()
    assert token.revoked_at == revoked_at


def test_cannot_revoke_someone_elses_token(client, db, login_as, make_user, token_for):
    other = make_user()
    token_for(other)
    (token,) = _tokens(db, other)
    login_as(Role.ADMIN)
    assert client.post_form(f"/account/tokens/{token.id}/revoke").status_code == 404
    db.session.expire_all()
    assert token.revoked_at is None


def test_revoke_needs_csrf(client, db, login_as, token_for):
    user = login_as(Role.TRAINEE)
    token_for(user)
    (token,) = _tokens(db, user)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 400
    db.session.expire_all()
    assert token.revoked_at is None


def test_token_list_query_count_is_fixed(app, client, login_as, token_for):
    from tests.conftest import count_queries

    user = login_as(Role.TRAINEE)
    token_for(user)
    with count_queries(app) as few:
        client.get("/account/tokens")
    for _ in range(4):
        token_for(user)
    with count_queries(app) as many:
        client.get("/account/tokens")
    assert many.count == few.count
