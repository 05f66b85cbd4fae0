"""Catalogue endpoints: visibility by role and scope, pagination, filters, links."""

import pytest

from lms.models import Role
from tests.api_helpers import assert_matches_openapi, bearer
from tests.conftest import count_queries


def _codes(response):
    return [item["code"] for item in response.get_json()["items"]]


def _mine(codes, catalogue):
    wanted = {catalogue[k].code for k in ("published", "draft", "other")}
    return [c for c in codes if c in wanted]


def test_anonymous_sees_published_courses(client, catalogue):
    response = client.get("/api/v1/courses?per_page=100")
    assert response.status_code == 200
    assert_matches_openapi(response)
    codes = _mine(_codes(response), catalogue)
    assert codes == sorted([catalogue["published"].code, catalogue["other"].code])
    item = next(i for i in response.get_json()["items"] if i["code"] == catalogue["published"].code)
    assert item["title_en"] == "Smart <city> & data"
    assert item["id"] == catalogue["published"].id
    assert item["links"]["self"] == f"/api/v1/courses/{item['code']}"
    assert item["has_open_cohort"] is True
    assert item["instructors"] == [
        {"id": catalogue["teacher"].id, "name": catalogue["teacher"].name}
    ]


@pytest.mark.parametrize(
    ("who", "sees_draft"),
    [
        ("anonymous", False),
        (Role.TRAINEE, False),
        (Role.EMPLOYER, False),
        (Role.CERTIFIER, False),
        (Role.INSTRUCTOR, False),  # an instructor of other courses
        ("teacher", True),
        (Role.ADMIN, True),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/courses?per_page=100", "/api/v1/courses/{draft}"])
def test_drafts_only_for_their_staff(
    client, make_user, token_for, catalogue, who, sees_draft, path
):
    headers = {}
    if who == "teacher":
        headers = bearer(token_for(catalogue["teacher"], scopes=["read"]))
    elif who != "anonymous":
        headers = bearer(token_for(make_user(roles=[who]), scopes=["read"]))
    response = client.get(path.format(draft=catalogue["draft"].code), headers=headers)
    assert_matches_openapi(response)
    if "{draft}" in path:
        assert response.status_code == (200 if sees_draft else 404)
    else:
        assert (catalogue["draft"].code in _codes(response)) is sees_draft


@pytest.mark.parametrize("scope", ["read", "learn", "teach", "certify", "admin"])
@pytest.mark.parametrize(
    "path", ["/api/v1/programmes", "/api/v1/courses", "/api/v1/courses/{code}/cohorts"]
)
def test_every_scope_reads_the_catalogue(client, make_user, token_for, catalogue, scope, path):
    user = make_user(roles=[Role.ADMIN])
    response = client.get(
        path.format(code=catalogue["published"].code),
        headers=bearer(token_for(user, scopes=[scope])),
    )
    assert response.status_code == 200
    assert_matches_openapi(response)


def test_bad_token_is_refused_even_on_public_reads(client, catalogue):
    response = client.get("/api/v1/courses", headers=bearer("s4c_nope"))
    assert response.status_code == 401
    assert_matches_openapi(response)


def test_pagination_is_stable_and_linked(client, catalogue):
    seen = []
    url = "/api/v1/courses?per_page=1&search=api"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert_matches_openapi(response)
        body = response.get_json()
        assert body["per_page"] == 1
        seen += _codes(response)
        url = body["links"]["next"]
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == body["total"]
    assert body["links"]["prev"] is not None


def test_filters_by_programme_and_search(client, catalogue):
    programme = catalogue["programme"].code
    response = client.get(f"/api/v1/courses?programme={programme.lower()}")
    assert _codes(response) == [catalogue["published"].code]
    response = client.get("/api/v1/courses", query_string={"search": "SMART <city>"})
    assert _codes(response) == [catalogue["published"].code]
    response = client.get("/api/v1/courses", query_string={"search": "no such words at all"})
    assert response.get_json()["items"] == []
    for code in ("NOPE", catalogue["hidden"].code):  # unknown, or a draft programme
        response = client.get("/api/v1/courses", query_string={"programme": code})
        assert response.status_code == 200
        assert response.get_json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page": "x"},
        {"per_page": "101"},
        {"search": "x" * 201},
    ],
)
def test_bad_query_is_422_with_fields(client, catalogue, query):
    query = {k: v.format(hidden=catalogue["hidden"].code) for k, v in query.items()}
    response = client.get("/api/v1/courses", query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert [e["field"] for e in body["errors"]] == list(query)
    assert all(e["message"] for e in body["errors"])
    assert_matches_openapi(response)


def test_programmes_hide_drafts_from_non_admins(client, make_user, token_for, catalogue):
    response = client.get("/api/v1/programmes")
    assert_matches_openapi(response)
    codes = _codes(response)
    assert catalogue["programme"].code in codes
    assert catalogue["hidden"].code not in codes
    item = next(i for i in response.get_json()["items"] if i["code"] == catalogue["programme"].code)
    assert item["links"]["courses"] == f"/api/v1/courses?programme={item['code']}"
    admin = bearer(token_for(make_user(roles=[Role.ADMIN]), scopes=["read"]))
    assert catalogue["hidden"].code in _codes(client.get("/api/v1/programmes", headers=admin))


def test_course_detail(client, catalogue):
    code = catalogue["published"].code
    response = client.get(f"/api/v1/courses/{code.lower()}")
    assert response.status_code == 200
    assert_matches_openapi(response)
    body = response.get_json()
    assert body["code"] == code
    assert body["programmes"] == [catalogue["programme"].code]
    assert body["links"]["cohorts"] == f"/api/v1/courses/{code}/cohorts"


def test_unknown_course_is_404_problem(client, catalogue):
    for path in (
        "/api/v1/courses/NOPE",
        "/api/v1/courses/NOPE/cohorts",
        "/api/v1/courses/" + "x" * 40,
    ):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert_matches_openapi(response)


def test_cohorts_in_start_order_with_open_flag(client, catalogue):
    response = client.get(f"/api/v1/courses/{catalogue['published'].code}/cohorts")
    assert_matches_openapi(response)
    items = response.get_json()["items"]
    assert [c["name"] for c in items] == ["Open", "Closed", "Later"]
    assert [c["open_for_enrolment"] for c in items] == [True, False, True]
    assert items[2]["capacity"] == 10


def test_course_list_query_count_is_fixed(app, client, db, catalogue):
    from courses.models import Course, CourseState

    with count_queries(app) as few:
        client.get("/api/v1/courses?per_page=100")
    db.session.add_all(
        Course(code=f"QC{i}API", title_en=f"Q {i}", state=CourseState.PUBLISHED) for i in range(5)
    )
    db.session.commit()
    with count_queries(app) as many:
        client.get("/api/v1/courses?per_page=100")
    assert many.count == few.count
