"""Who may open each account and admin page: every route x every role, and anonymous."""

from __future__ import annotations

import pytest

from lms.models import Role

ROLES = [None, *Role]  # None: not logged in


def expect(anonymous, others, **by_role):
    """Status per role: ``anonymous``, then ``others`` unless a role is named."""
    table = {None: anonymous}
    for role in Role:
        table[role] = by_role.get(role.value, others)
    return table


# (method, url, expected status per role); "{user}" is another user's id.
MATRIX = [
    ("GET", "/login", expect(200, 302)),
    ("GET", "/register", expect(200, 302)),
    ("GET", "/forgot-password", expect(200, 200)),
    ("GET", "/reset-password/not-a-token", expect(400, 400)),
    ("POST", "/logout", expect(302, 302)),
    ("GET", "/account", expect("login", 200)),
    ("POST", "/account", expect("login", 200)),  # empty form: re-shown with errors
    ("GET", "/account/password", expect("login", 200)),
    ("POST", "/account/password", expect("login", 200)),
    ("GET", "/admin/users", expect("login", 403, admin=200)),
    ("GET", "/admin/users/new", expect("login", 403, admin=200)),
    ("POST", "/admin/users/new", expect("login", 403, admin=200)),
    ("GET", "/admin/users/{user}", expect("login", 403, admin=200)),
    ("POST", "/admin/users/{user}", expect("login", 403, admin=200)),
    ("POST", "/admin/users/{user}/password-link", expect("login", 403, admin=302)),
]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
@pytest.mark.parametrize(("method", "url", "expected"), MATRIX, ids=lambda x: str(x)[:40])
def test_permission_matrix(client, db, make_user, login_as, role, method, url, expected):
    other = make_user(name="Someone Else", email="someone.else@example.org")
    if role is not None:
        login_as(role)
    url = url.format(user=other.id)
    response = client.get(url) if method == "GET" else client.post_form(url, {})
    want = expected[role]
    if want == "login":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    else:
        assert response.status_code == want, response.get_data(as_text=True)[:500]
    # Nobody changed the other user by merely knocking.
    db.session.refresh(other)
    assert other.name == "Someone Else"
    assert other.roles == {Role.TRAINEE}
    assert other.active


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_non_admins_cannot_change_users(client, db, make_user, login_as, role):
    victim = make_user(name="Victim", email="victim@example.org")
    login_as(role)
    response = client.post_form(
        f"/admin/users/{victim.id}",
        {"name": "Owned", "email": "owned@example.org", "roles": ["admin"], "active": "y"},
    )
    assert response.status_code == 403
    response = client.post_form(
        "/admin/users/new",
        {"name": "Planted", "email": "planted@example.org", "roles": ["admin"]},
    )
    assert response.status_code == 403
    db.session.refresh(victim)
    assert victim.name == "Victim"
    assert victim.roles == {Role.TRAINEE}
    from lms.auth.operations import find_user_by_email

    assert find_user_by_email("planted@example.org") is None
