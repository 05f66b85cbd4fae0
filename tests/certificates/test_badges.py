"""Badge images for achievements and the issuer, and badges baked with their credential."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image, PngImagePlugin

from certificates import badges
from certificates import operations as ops
from certificates.credentials.openbadges import validate_profile_schema, validate_schema
from certificates.verify import service


@pytest.fixture
def cert(db, world, trainee):
    cert = ops.issue_certificate(world.scheme, trainee, actor=world.certifier)
    db.session.commit()
    return cert


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_credentials_name_the_achievement_image_by_url(client, cert, world):
    achievement = cert.credential["credentialSubject"]["achievement"]
    url = f"http://localhost/achievements/{world.scheme.code}/image.png"
    assert achievement["image"] == {
        "id": url,
        "type": "Image",
        "caption": f"Badge of {world.scheme.title_en}",
    }
    assert validate_schema(cert.credential, raise_errors=False) == []
    assert service.verify_code(cert.code).valid
    document = client.get(f"/achievements/{world.scheme.code}").get_json()
    assert document["image"] == achievement["image"]


def test_achievement_image_is_a_png_in_the_scheme_colour(client, db, world):
    world.scheme.design_colour = "#aa2200"
    db.session.commit()
    response = client.get(f"/achievements/{world.scheme.code}/image.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    image = picture(response.data)
    assert image.format == "PNG"
    assert image.size == (badges.SIZE, badges.SIZE)
    # The disc's edge (inside the ring) is the scheme's colour; the corners are transparent.
    assert image.convert("RGBA").getpixel((30, badges.SIZE // 2)) == (0xAA, 0x22, 0x00, 255)
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0
    again = client.get(
        f"/achievements/{world.scheme.code}/image.png",
        headers={"If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304


def test_image_is_drawn_once_and_redrawn_when_the_design_changes(client, db, world, monkeypatch):
    drawn = []
    draw = badges.draw_badge
    monkeypatch.setattr(badges, "draw_badge", lambda design: drawn.append(design) or draw(design))
    url = f"/achievements/{world.scheme.code}/image.png"
    first = client.get(url).data
    assert client.get(url).data == first
    assert len(drawn) == 1
    world.scheme.design_colour = "#00aa44"
    db.session.commit()
    assert client.get(url).data != first
    assert len(drawn) == 2


def test_unknown_scheme_has_no_image(client, db):
    assert client.get("/achievements/NO-SUCH/image.png").status_code == 404


def test_a_scheme_without_a_colour_gets_a_stable_readable_one(db, world):
    world.scheme.design_colour = ""
    design = badges.scheme_design(world.scheme)
    assert design == badges.scheme_design(world.scheme)
    assert design.colour.startswith("#")
    assert len(design.colour) == 7
    assert badges._ink(design.colour) == (255, 255, 255)


def test_issuer_profile_has_an_image(client, db):
    profile = client.get("/issuer").get_json()
    assert profile["image"] == {
        "id": "http://localhost/issuer/image.png",
        "type": "Image",
        "caption": "Skills4Cities Training Centre logo",
    }
    assert validate_profile_schema(profile) == []
    response = client.get("/issuer/image.png")
    assert response.status_code == 200
    assert picture(response.data).format == "PNG"


def test_baked_badge_carries_the_served_credential(client, cert):
    response = client.get(f"/credentials/{cert.code}.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"] == f"attachment; filename=badge-{cert.code}.png"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    served = client.get(f"/credentials/{cert.code}.json").data

    # Read back with Pillow: one uncompressed iTXt chunk keyed openbadgecredential.
    image = picture(response.data)
    chunks = [t for t in image.text.items() if t[0] == "openbadgecredential"]
    assert len(chunks) == 1
    text = chunks[0][1]
    assert isinstance(text, PngImagePlugin.iTXt)
    assert json.loads(text) == json.loads(served) == cert.credential
    assert text == json.dumps(json.loads(served), ensure_ascii=False, separators=(",", ":"))
    assert b"zTXt" not in response.data

    # Our own reader agrees, and the credential in the badge verifies.
    baked = badges.baked_credential(response.data)
    assert baked == text
    report = service.verify_upload(baked.encode("utf-8"), kind=service.JSON)
    assert report.valid, report.as_dict()


def test_baking_again_replaces_the_credential():
    png = badges.draw_badge(badges.BadgeDesign("#123456", "X", "Y"))
    assert badges.baked_credential(png) is None
    once = badges.bake(png, '{"a":"Иван"}')
    twice = badges.bake(once, '{"b":2}')
    assert badges.baked_credential(once) == '{"a":"Иван"}'
    assert badges.baked_credential(twice) == '{"b":2}'
    assert twice.count(b"openbadgecredential") == 1
    assert picture(twice).size == picture(png).size


@pytest.mark.parametrize(
    "data",
    [b"GIF89a", badges.PNG_SIGNATURE + b"\x00\x00\x01\x00IHDR", badges.PNG_SIGNATURE],
)
def test_baking_refuses_what_is_not_a_whole_png(data):
    with pytest.raises(badges.BakingError):
        badges.bake(data, "{}")


def test_unknown_code_has_no_baked_badge(client, db):
    assert client.get("/credentials/ABCDE-FGHJK-MNPQR-STVWX.png").status_code == 404
