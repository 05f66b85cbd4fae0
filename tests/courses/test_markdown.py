"""Lesson bodies: Markdown rendered to HTML that cannot run scripts."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from lms.markdown import render_markdown
from lms.models import Role

SAFE_SCHEMES = {"http", "https", "mailto"}
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))


def url_scheme(url: str) -> str | None:
    """Return the scheme a browser would see (WHATWG URL parsing), or None if relative."""
    # Browsers strip leading/trailing C0 controls and spaces and drop tabs and newlines.
    cleaned = re.sub(r"[\t\n\r]", "", url).strip(_C0_AND_SPACE)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", html_lib.unescape(cleaned))
    return match.group(1).lower() if match else None


class _Elements(HTMLParser):
    """Collect the elements and attributes a browser would build from the HTML."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((name, value or "") for name, value in attrs)


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def assert_harmless(html: str) -> None:
    """No script-capable element, no event handler, no style, no unsafe URL."""
    found = elements(html)
    assert not {"script", "iframe", "svg", "object", "embed", "style", "div"} & set(found.tags)
    for name, value in found.attributes:
        assert not name.startswith("on"), (name, value)
        assert name != "style"
        if name in ("href", "src"):
            assert url_scheme(value) in SAFE_SCHEMES | {None}, value


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "Text <script>alert(1)</script> text",
        "```\n</code></pre><script>alert(1)</script>\n```",
        '<img src="x" onerror="alert(1)">',
        '![pic](x.png "a" onerror="alert(1)")',
        "<iframe src='https://evil.example'></iframe>",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        '<div style="background:url(javascript:alert(1))">x</div>',
    ],
)
def test_raw_html_is_shown_as_text_not_markup(source):
    html = str(render_markdown(source))
    assert_harmless(html)
    # The text is still there for the reader, escaped.
    assert "alert(1)" in html or "evil.example" in html


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](  javascript:alert(1))",
        "[click](java&#x09;script:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![img](javascript:alert(1))",
        "<javascript:alert(1)>",
    ],
)
def test_dangerous_link_schemes_are_dropped(source):
    html = str(render_markdown(source)).lower()
    assert_harmless(html)
    assert 'href="javascript' not in html
    assert 'src="javascript' not in html
    assert 'href="data:' not in html
    assert 'href="vbscript' not in html


def test_tables_code_and_links_work():
    source = (
        "# Budget lines\n\n"
        "| Item | Cost |\n|:-----|-----:|\n| Sensors | 1 200 |\n\n"
        "```python\nprint('<ok>')\n```\n\n"
        "See [the EU portal](https://data.europa.eu/) and `x < y`.\n\n"
        "- one\n- two\n\n1. first\n\n> quoted\n\n*em* **strong** ~~gone~~"
    )
    html = str(render_markdown(source))
    assert "<h1>Budget lines</h1>" in html
    assert "<table>" in html
    assert "<th" in html
    assert ">Sensors</td>" in html
    assert '<td align="right">1 200</td>' in html or 'style="text-align:right"' not in html
    assert '<code class="language-python">' in html
    assert "print(&#39;&lt;ok&gt;&#39;)" in html or "print('&lt;ok&gt;')" in html
    assert '<a href="https://data.europa.eu/"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<code>x &lt; y</code>" in html
    assert "<ul>" in html
    assert "<ol>" in html
    assert "<blockquote>" in html
    assert "<em>em</em>" in html
    assert "<strong>strong</strong>" in html


def test_safe_links_and_images_are_kept():
    html = str(render_markdown("![map](/static/map.png) [mail](mailto:a@example.org)"))
    assert '<img src="/static/map.png" alt="map">' in html
    assert 'href="mailto:a@example.org"' in html


def test_result_is_markup_and_empty_input_is_empty():
    assert isinstance(render_markdown("x"), Markup)
    assert str(render_markdown("")) == ""
    assert str(render_markdown(None)) == ""


def test_cyrillic_and_ampersands_survive():
    html = str(render_markdown("Общини & граждани — „данни“"))
    assert html.strip() == "<p>Общини &amp; граждани — „данни“</p>"


def test_lesson_body_is_sanitised_on_the_study_page(
    client, login_as, make_user, make_course, make_module, make_lesson
):
    teacher = make_user(roles=[Role.INSTRUCTOR])
    course = make_course(code="MD-1", instructors=[teacher])
    lesson = make_lesson(
        make_module(course),
        body_en="# Safe\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2))",
    )
    login_as(teacher)
    html = client.get(f"/courses/MD-1/lessons/{lesson.id}/edit").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # in the textarea, as text
    assert "<script>alert(1)" not in html
