"""Render user-written Markdown to HTML that is safe to show.

Images load only from the site itself (relative URLs or the configured base
URL) or from small ``data:`` URIs: an image from elsewhere would tell a third
party who read the lesson and when (a tracking pixel), and the page's
Content-Security-Policy would block it anyway.
"""

import functools
import re
from urllib.parse import urlsplit

import nh3
from flask import current_app, has_app_context
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "del",
    "s",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "code": {"class"},
}


# A data: image inside a lesson is stored in every copy of its text: keep it small.
MAX_DATA_IMAGE_CHARS = 64 * 1024
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+", re.ASCII)


def _same_site(url: str) -> bool:
    """Whether ``url`` points into this site: relative, or under the configured base URL."""
    # As a browser reads it: "/\\host" and " //host" are other hosts, not paths.
    url = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21)))).replace("\\", "/")
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return True
    if not has_app_context():
        return False
    base = urlsplit(current_app.config["BASE_URL"])
    return (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    """Keep an image source only if it is on this site or a small data URI; no data: links."""
    if element == "img" and attribute == "src":
        if value.startswith("data:"):
            ok = len(value) <= MAX_DATA_IMAGE_CHARS and _DATA_IMAGE.fullmatch(value)
            return value if ok else None
        return value if _same_site(value) else None
    if attribute == "href" and value.lower().startswith("data:"):
        return None
    return value


def render_markdown(text: str | None) -> Markup:
    """Turn Markdown into sanitised HTML: raw HTML is escaped, scripts and handlers removed."""
    base_url = current_app.config["BASE_URL"] if has_app_context() else None
    return _render(text or "", base_url)


@functools.lru_cache(maxsize=256)
def _render(text: str, base_url: str | None) -> Markup:
    """Render and clean ``text``; cached, as lessons and questions are read far more often
    than written. The result depends on the text and on the site's base URL only."""
    html = _md.render(text)
    clean = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704 - cleaned by nh3 just above
