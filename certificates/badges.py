"""Badge images: one per achievement (scheme) and one for the issuer, and baked badges.

Wallets and badge displayers show an Achievement's ``image`` and the issuer
Profile's ``image``. Each is a PNG drawn once from the scheme's design colour
and code (or from the centre's name) and cached in the instance folder under a
name that hashes what it shows; credentials carry only its URL.

A *baked* badge is that PNG with the signed credential inside it, in an
``iTXt`` chunk keyed ``openbadgecredential`` (Open Badges 3.0, "Baking"), so a
holder can keep or upload one file that is both picture and proof.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import struct
import tempfile
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageDraw, ImageFont

from certificates import issuer
from certificates.credentials import openbadges
from certificates.models import Scheme
from lms.pdf import FONT_DIR

logger = logging.getLogger(__name__)

#: Bump when the drawing changes, so cached images are redrawn.
DRAWING_VERSION = "1"
SIZE = 512
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The iTXt keyword of a baked Open Badges 3.0 credential.
BAKED_KEYWORD = b"openbadgecredential"
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
#: Colour of the issuer's image (the centre has no scheme colour of its own).
ISSUER_COLOUR = "#0b5394"


class BakingError(ValueError):
    """The bytes are not a PNG a credential can be baked into or read from."""


# --- addresses ------------------------------------------------------------------------------


def achievement_image_url(scheme_code: str) -> str:
    """Return the image of an achievement: ``<Achievement id>/image.png``."""
    return f"{issuer.achievement_url(scheme_code)}/image.png"


def issuer_image_url() -> str:
    """Return the issuer's image: ``<BASE_URL>/issuer/image.png``."""
    return f"{issuer.base_url()}/issuer/image.png"


def achievement_image(scheme: Scheme) -> openbadges.Image:
    """Return the OB 3.0 Image an achievement names (its URL and a caption)."""
    return openbadges.Image(
        id=achievement_image_url(scheme.code), caption=f"Badge of {scheme.title_en}"
    )


def issuer_image() -> dict:
    """Return the OB 3.0 Image of the issuer Profile."""
    name = current_app.config["CENTRE_NAME"]
    return openbadges.build_image(openbadges.Image(id=issuer_image_url(), caption=f"{name} logo"))


# --- drawing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeDesign:
    """What a badge image shows: a coloured disc with a headline and a few words under it."""

    colour: str
    headline: str
    words: str

    def key(self) -> str:
        """Return a name for the cached file that changes whenever the drawing would."""
        text = "\n".join((DRAWING_VERSION, self.colour, self.headline, self.words))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def scheme_design(scheme: Scheme) -> BadgeDesign:
    """Return the design of a scheme's badge: its colour (or a stable one), code and title."""
    colour = scheme.design_colour or ""
    if not _HEX_COLOUR.fullmatch(colour):
        colour = derived_colour(scheme.code)
    return BadgeDesign(colour=colour.lower(), headline=scheme.code, words=scheme.title_en)


def issuer_design() -> BadgeDesign:
    """Return the design of the issuer's image: the centre's initials and name."""
    name = current_app.config["CENTRE_NAME"]
    initials = "".join(word[0] for word in name.split() if word[:1].isalnum())[:4].upper()
    return BadgeDesign(colour=ISSUER_COLOUR, headline=initials or "?", words=name)


def derived_colour(text: str) -> str:
    """Return a stable, fairly dark colour for ``text`` (white writing stays readable)."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "#" + "".join(f"{32 + byte % 112:02x}" for byte in digest[:3])


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _ink(colour: str) -> tuple[int, int, int]:
    """Return white on dark colours and near-black on light ones."""
    red, green, blue = _rgb(colour)
    luminance = (0.299 * red + 0.587 * green + 0.114 * blue) / 255
    return (255, 255, 255) if luminance < 0.6 else (20, 20, 20)


def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _fitting_font(draw: ImageDraw.ImageDraw, text: str, width: int, start: int):
    """Return the largest bold font, from ``start`` down, in which ``text`` fits ``width``."""
    size = start
    font = _font(size, bold=True)
    while size > 12 and draw.textlength(text, font=font) > width:
        size -= 2
        font = _font(size, bold=True)
    return font


def draw_badge(design: BadgeDesign) -> bytes:
    """Draw a badge: a disc in the design colour with a ring, the headline and the words."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    fill = _rgb(design.colour)
    ink = _ink(design.colour)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=fill)
    draw.ellipse((36, 36, SIZE - 36, SIZE - 36), outline=ink, width=6)
    centre = SIZE // 2
    headline = _fitting_font(draw, design.headline, SIZE - 150, 88)
    draw.text((centre, centre - 40), design.headline, font=headline, fill=ink, anchor="mm")
    small = _font(26)
    lines = textwrap.wrap(design.words, width=24)[:3]
    for number, line in enumerate(lines):
        draw.text((centre, centre + 30 + number * 34), line, font=small, fill=ink, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _cache_dir() -> Path:
    return Path(current_app.instance_path) / "badges"


def badge_png(design: BadgeDesign) -> bytes:
    """Return the PNG of a design, drawn on first use and then read from the cache."""
    path = _cache_dir() / f"{design.key()}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = draw_badge(design)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write aside and rename, so a concurrent reader never sees half a file.
    fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
    logger.info("drew badge image %s", path.name)
    return data


# --- baking ---------------------------------------------------------------------------------


def _chunks(png: bytes):
    """Yield ``(type, data, start, end)`` of each chunk; raise BakingError if malformed."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image")
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise BakingError("the PNG is truncated")
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        end = offset + 12 + length
        if end > len(png):
            raise BakingError("the PNG is truncated")
        yield kind, png[offset + 8 : offset + 8 + length], offset, end
        offset = end
        if kind == b"IEND":
            return
    raise BakingError("the PNG has no end")


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _is_credential_chunk(kind: bytes, data: bytes) -> bool:
    return kind == b"iTXt" and data.startswith(BAKED_KEYWORD + b"\0")


def compact_json(credential: dict) -> str:
    """Return the credential as the compact JSON text baked into a badge."""
    return json.dumps(credential, ensure_ascii=False, separators=(",", ":"))


def bake(png: bytes, credential_json: str) -> bytes:
    """Return ``png`` with ``credential_json`` in an uncompressed ``openbadgecredential`` iTXt.

    Any credential baked before is replaced: a badge holds one credential.
    """
    # iTXt: keyword, NUL, compression flag 0, method 0, language tag NUL, translated keyword
    # NUL, then the text in UTF-8.
    itxt = _chunk(b"iTXt", BAKED_KEYWORD + b"\0\0\0\0\0" + credential_json.encode("utf-8"))
    parts = [PNG_SIGNATURE]
    for kind, data, start, end in _chunks(png):
        if kind == b"IEND":
            parts.append(itxt)
        if not _is_credential_chunk(kind, data):
            parts.append(png[start:end])
    return b"".join(parts)


def baked_credential(png: bytes) -> str | None:
    """Return the credential text baked into ``png``, or None if it holds none."""
    for kind, data, _start, _end in _chunks(png):
        if _is_credential_chunk(kind, data):
            rest = data[len(BAKED_KEYWORD) + 1 :]
            if len(rest) < 2 or rest[0] != 0:
                raise BakingError("the baked credential is compressed")
            # Skip the compression method, the language tag and the translated keyword.
            fields = rest[2:].split(b"\0", 2)
            if len(fields) != 3:
                raise BakingError("the baked credential's chunk is malformed")
            text = fields[2]
            try:
                return text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BakingError("the baked credential is not UTF-8") from exc
    return None
