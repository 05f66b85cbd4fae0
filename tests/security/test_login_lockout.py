"""Log-in limits stop guessing without locking out a classroom or the account's owner.

Only failures count. A browser that has logged in to an account before holds a
device cookie and is not locked out by failures from elsewhere (OWASP's device
cookies); unknown browsers are limited per account and per address.
"""

from __future__ import annotations

PASSWORD = "correct horse battery"
CLASSROOM = {"REMOTE_ADDR": "203.0.113.50"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.66"}


def attempt(client, email, password=PASSWORD, where=CLASSROOM):
    return client.post_form("/login", {"email": email, "password": password}, environ_base=where)


def test_forty_log_ins_from_one_address_do_not_lock_out_the_next(app, db, make_user):
    people = [make_user(email=f"pupil{n}@example.org", password=PASSWORD) for n in range(41)]
    db.session.commit()
    for person in people:
        browser = app.test_client()  # each pupil on their own computer behind one NAT
        response = attempt(browser, person.email)
        assert response.status_code == 302, person.email
        assert browser.get("/account", environ_base=CLASSROOM).status_code == 200


def owner_browser(app, email):
    """Return a browser that has logged in to ``email`` before and logged out since."""
    browser = app.test_client()
    assert attempt(browser, email).status_code == 302
    assert browser.get_cookie(app.config["LOGIN_DEVICE_COOKIE_NAME"]) is not None
    browser.post_form("/logout")
    return browser


def test_guessing_locks_unknown_devices_but_not_the_owners_browser(app, db, make_user):
    make_user(email="owner@example.org", password=PASSWORD)
    db.session.commit()  # the 429 page rolls back what is pending
    owner = owner_browser(app, "owner@example.org")

    guesser = app.test_client()
    for n in range(5):
        response = attempt(guesser, "owner@example.org", f"guess number {n}", where=ELSEWHERE)
        assert response.status_code == 200
    refused = attempt(guesser, "owner@example.org", where=ELSEWHERE)  # even the right one
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "too many attempts" in refused.get_data(as_text=True).lower()
    assert guesser.get("/account").status_code == 302
    # Another unknown browser is limited for this account too …
    assert attempt(app.test_client(), "owner@example.org").status_code == 429
    # … but the owner's own browser logs in.
    assert attempt(owner, "owner@example.org").status_code == 302
    assert owner.get("/account", environ_base=CLASSROOM).status_code == 200


def test_guessing_from_the_classroom_locks_the_address_not_the_known_browsers(
    app, db, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ADDRESS", "4 per 15 minutes")
    make_user(email="pupil@example.org", password=PASSWORD)
    make_user(email="newcomer@example.org", password=PASSWORD)
    db.session.commit()
    pupil = owner_browser(app, "pupil@example.org")
    guesser = app.test_client()
    for n in range(4):
        assert attempt(guesser, f"someone{n}@example.org", "guess").status_code == 200
    # Unknown browsers at this address now wait; elsewhere they do not.
    assert attempt(app.test_client(), "newcomer@example.org").status_code == 429
    assert attempt(app.test_client(), "newcomer@example.org", where=ELSEWHERE).status_code == 302
    assert attempt(pupil, "pupil@example.org").status_code == 302


def test_a_known_browser_has_its_own_limit(app, db, make_user):
    make_user(email="forgetful@example.org", password=PASSWORD)
    db.session.commit()
    browser = owner_browser(app, "forgetful@example.org")
    for n in range(5):
        assert attempt(browser, "forgetful@example.org", f"wrong {n}").status_code == 200
    # Its failures counted against the device cookie only: unknown browsers are not locked.
    assert attempt(app.test_client(), "forgetful@example.org", where=ELSEWHERE).status_code == 302
    # Once locked, the cookie counts as none: the browser is an unknown one again.
    for n in range(5):
        assert attempt(browser, "forgetful@example.org", f"again {n}").status_code == 200
    assert attempt(browser, "forgetful@example.org").status_code == 429


def test_device_cookie_is_signed_per_account_and_httponly(app, db, make_user):
    make_user(email="a@example.org", password=PASSWORD)
    make_user(email="b@example.org", password=PASSWORD)
    db.session.commit()
    name = app.config["LOGIN_DEVICE_COOKIE_NAME"]
    browser = app.test_client()
    response = attempt(browser, "a@example.org")
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    browser.post_form("/logout")

    # A's device cookie does not vouch for B: failures for B lock unknown devices.
    for n in range(5):
        attempt(browser, "b@example.org", f"wrong {n}", where=ELSEWHERE)
    assert attempt(browser, "b@example.org", where=ELSEWHERE).status_code == 429

    forged = app.test_client()
    forged.set_cookie(name, browser.get_cookie(name).value[:-2] + "xx")
    assert attempt(forged, "b@example.org", where=ELSEWHERE).status_code == 429
    assert attempt(browser, "a@example.org", where=ELSEWHERE).status_code == 302


def test_log_in_works_with_rate_limits_switched_off(app, db, make_user, monkeypatch):
    from lms.extensions import limiter

    make_user(email="unlimited@example.org", password=PASSWORD)
    db.session.commit()
    monkeypatch.setattr(limiter, "enabled", False)
    browser = app.test_client()
    for n in range(7):
        assert attempt(browser, "unlimited@example.org", f"wrong {n}").status_code == 200
    assert attempt(browser, "unlimited@example.org").status_code == 302
