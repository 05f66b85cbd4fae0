"""Employers verify many codes at once; the public pages need no account."""

from __future__ import annotations

import csv
import io

import pytest

from lms.models import Role
from tests.conftest import count_queries


@pytest.mark.parametrize("role", [None, *Role])
def test_public_routes_work_for_everyone(client, login_as, issued, status_list_row, role):
    if role is not None:
        login_as(role)
    for url in (
        "/verify",
        f"/verify/{issued.code}",
        f"/api/v1/verify/{issued.code}",
        "/issuer",
        f"/status-lists/{status_list_row.id}",
        "/achievements/SC-PM",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, 302),
        (Role.TRAINEE, 403),
        (Role.INSTRUCTOR, 403),
        (Role.CERTIFIER, 403),
        (Role.EMPLOYER, 200),
        (Role.ADMIN, 200),
    ],
)
def test_bulk_needs_an_employer_or_admin(client, login_as, role, expected):
    if role is not None:
        login_as(role)
    response = client.get("/verify/bulk")
    assert response.status_code == expected
    if role is None:
        assert "/login" in response.headers["Location"]
    post = client.post_form("/verify/bulk", {"codes": "x", "show": "1"})
    assert post.status_code == expected


def bulk(client, codes_text=None, csv_file=None, download=False):
    data = {"download" if download else "show": "1"}
    if codes_text is not None:
        data["codes"] = codes_text
    if csv_file is not None:
        data["file"] = (io.BytesIO(csv_file), "codes.csv")
    return client.post_form("/verify/bulk", data, content_type="multipart/form-data")


def test_bulk_table_from_a_csv_file(client, login_as, make_certificate, set_status):
    login_as(Role.EMPLOYER)
    good = make_certificate(name="Мария Иванова")
    revoked = make_certificate(name="=HYPERLINK(1)")
    set_status(revoked, "revoked", "Withdrawn by the centre")
    text = f"code;note\r\n{good.code.lower()};x\r\n{revoked.code};y\r\nnot-a-code;z\r\n"
    response = bulk(client, csv_file=("\ufeff" + text).encode())
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('data-status="active"') == 1
    assert page.count('data-status="revoked"') == 1
    assert page.count('data-status="not_found"') == 1
    assert "Мария Иванова" in page
    assert "Withdrawn by the centre" in page
    assert good.certificate.user.email not in page


def test_bulk_csv_download_is_safe_for_spreadsheets(client, login_as, make_certificate):
    login_as(Role.EMPLOYER)
    hostile = make_certificate(name="=HYPERLINK(1)")
    response = bulk(client, codes_text=f"{hostile.code}\n<b>bad</b>", download=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["code", "verdict", "valid"]
    assert rows[1][:4] == [hostile.code, "active", "yes", "'=HYPERLINK(1)"]
    assert rows[2][:3] == ["<b>bad</b>", "not_found", "no"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"codes": ""}, "Give at least one code"),
        ({"codes": "\n\n"}, "Give at least one code"),
        ({"file": (io.BytesIO(b"\xff\xfe\x00bad"), "c.csv")}, "not a UTF-8 CSV"),
    ],
)
def test_bulk_bad_input_is_explained(client, login_as, db, data, message):
    login_as(Role.EMPLOYER)
    response = client.post_form(
        "/verify/bulk", {**data, "show": "1"}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_bulk_is_capped(client, login_as, app):
    login_as(Role.EMPLOYER)
    app.config["VERIFY_BULK_MAX_CODES"] = 3
    try:
        response = bulk(client, codes_text="a\nb\nc\nd")
    finally:
        del app.config["VERIFY_BULK_MAX_CODES"]
    assert response.status_code == 400
    assert "At most 3 codes at once; this list has 4." in response.get_data(as_text=True)


def test_bulk_query_count_is_constant(client, login_as, make_certificate, app):
    login_as(Role.EMPLOYER)
    certificates = [make_certificate() for _ in range(5)]
    with count_queries(app) as one:
        assert bulk(client, codes_text=certificates[0].code).status_code == 200
    with count_queries(app) as five:
        response = bulk(client, codes_text="\n".join(item.code for item in certificates))
    assert response.get_data(as_text=True).count('data-status="active"') == 5
    assert five.count == one.count


def test_bulk_table_names_certifications_in_the_readers_language(
    app, client, login_as, make_certificate
):
    login_as(Role.EMPLOYER)
    client.post_form("/language", {"language": "bg"})

    def schemes_read(count: int) -> int:
        codes = "\n".join(make_certificate(name=f"Holder {n}").code for n in range(count))
        with count_queries(app) as counter:
            page = bulk(client, codes_text=codes).get_data(as_text=True)
        assert page.count("<td>Мениджър</td>") == count
        assert "Smart City Project Manager" not in page
        return sum("FROM schemes" in statement for statement in counter.statements)

    # The schemes are read once per page, however many rows name one.
    assert schemes_read(1) == schemes_read(4) == 1
