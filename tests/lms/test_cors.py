"""Cross-origin reads: only views marked ``@public_read`` open up, preflight included."""

from __future__ import annotations

import pytest

from lms import cors


def test_a_marked_view_keeps_its_mark_through_wrapping_decorators():
    import functools

    def view():
        return "ok"

    marked = cors.public_read(view)

    @functools.wraps(marked)
    def wrapped():
        return marked()

    assert getattr(wrapped, cors.MARK) is True


@pytest.mark.parametrize("url", ["/", "/verify", "/api/v1/me/certificates"])
def test_pages_and_the_authenticated_api_stay_same_origin(client, url):
    response = client.get(url, headers={"Origin": "https://wallet.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options(
        url,
        headers={"Origin": "https://wallet.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
