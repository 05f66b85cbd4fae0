"""Bearer authentication, scopes against roles, and problem documents."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.api.models import ApiToken
from lms.db import utcnow
from lms.models import Role, UserRole
from tests.api_helpers import assert_matches_openapi, bearer

ALL_SCOPES = ["read", "learn", "teach", "certify", "admin"]
ROLE_SCOPE = {
    Role.TRAINEE: "learn",
    Role.INSTRUCTOR: "teach",
    Role.CERTIFIER: "certify",
    Role.ADMIN: "admin",
    Role.EMPLOYER: None,
}


def test_me_returns_the_tokens_user(client, make_user, token_for):
    user = make_user(roles=[Role.TRAINEE], name="Иван <b>Петров</b>")
    secret = token_for(user, scopes=["read", "learn"])
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user.id
    assert body["name"] == "Иван <b>Петров</b>"
    assert body["roles"] == ["trainee"]
    assert body["scopes"] == ["learn", "read"]
    assert body["links"]["self"] == "/api/v1/me"
    assert_matches_openapi(response)


@pytest.mark.parametrize("role", list(ROLE_SCOPE))
@pytest.mark.parametrize("scope", ALL_SCOPES)
def test_scope_matrix_on_me(client, make_user, token_for, role, scope):
    """A user can hold only the scopes of their roles; any held scope reads /me."""
    from lms.api.operations import TokenError

    user = make_user(roles=[role])
    allowed = scope == "read" or ROLE_SCOPE[role] == scope or role == Role.ADMIN
    if not allowed:
        with pytest.raises(TokenError):
            token_for(user, scopes=[scope])
        return
    response = client.get("/api/v1/me", headers=bearer(token_for(user, scopes=[scope])))
    assert response.status_code == 200
    assert response.get_json()["scopes"] == [scope]
    assert_matches_openapi(response)


def test_anonymous_gets_401_problem(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == 401
    assert_matches_openapi(response)


@pytest.mark.parametrize(
    "header",
    ["Bearer s4c_unknown", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer", "Bearer  "],
)
def test_bad_credentials_get_401(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert_matches_openapi(response)


def test_expired_and_revoked_tokens_are_refused(client, db, make_user, token_for):
    user = make_user()
    expired, revoked = token_for(user), token_for(user)
    rows = db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)).all()
    by_secret = {row.prefix: row for row in rows}
    by_secret[expired[:12]].expires_at = utcnow() - timedelta(seconds=1)
    by_secret[revoked[:12]].revoked_at = utcnow()
    db.session.commit()
    for secret in (expired, revoked):
        response = client.get("/api/v1/me", headers=bearer(secret))
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_inactive_users_token_is_refused(client, db, make_user, token_for):
    user = make_user()
    secret = token_for(user)
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_session_cookie_does_not_authenticate(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/account").status_code == 200  # the session works for pages
    response = client.get("/api/v1/me")
    assert response.status_code == 401


def test_token_user_wins_over_session_user(client, login_as, make_user, token_for):
    login_as(Role.ADMIN)
    other = make_user()
    response = client.get("/api/v1/me", headers=bearer(token_for(other)))
    assert response.get_json()["id"] == other.id


def test_lost_role_takes_its_scope_away(client, db, make_user, token_for):
    user = make_user(roles=[Role.TRAINEE])
    secret = token_for(user, scopes=["learn"])
    db.session.execute(sa.delete(UserRole).where(UserRole.user_id == user.id))
    db.session.add(UserRole(user_id=user.id, role=Role.EMPLOYER))
    db.session.commit()
    db.session.expire_all()
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert_matches_openapi(response)


def test_use_is_recorded(client, db, make_user, token_for):
    user = make_user()
    secret = token_for(user)
    client.get("/api/v1/me", headers=bearer(secret))
    db.session.expire_all()
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.last_used_at is not None


def test_unknown_api_path_is_a_problem(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
