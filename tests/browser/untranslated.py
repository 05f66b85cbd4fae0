"""Find English interface text on a page shown in Bulgarian.

The English catalogue is the set of msgids of the Bulgarian catalogue whose
translation differs from them. A text node (or a label-like attribute) of a
Bulgarian page that reads as one of them, placeholders matching anything, is
an untranslated string: a msgid the code forgot to pass through gettext, a
message rendered before the language was known, or a catalogue entry missing.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

PO = (
    Path(__file__).resolve().parents[2]
    / "lms"
    / "translations"
    / "bg"
    / "LC_MESSAGES"
    / "messages.po"
)
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")
# Texts and attributes people read, collected in the page.
COLLECT = """
() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => {
      const parent = node.parentElement;
      if (!parent || parent.closest("script, style, code, pre, noscript, [lang]:not(html)")) {
        return NodeFilter.FILTER_REJECT;
      }
      return node.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    },
  });
  while (walker.nextNode()) {
    out.push(walker.currentNode.textContent.trim().replace(/\\s+/g, " "));
  }
  const labelled = "[placeholder], [aria-label], [title], img[alt], input[type=submit]";
  document.querySelectorAll(labelled).forEach((el) => {
    for (const name of ["placeholder", "aria-label", "title", "alt", "value"]) {
      if (el.hasAttribute(name) && !(name === "value" && el.type !== "submit")) {
        out.push(el.getAttribute(name).trim());
      }
    }
  });
  return out;
}
"""


@cache
def english_patterns() -> list[tuple[str, re.Pattern]]:
    """One anchored pattern per English msgid whose Bulgarian differs from it."""
    with PO.open("rb") as fh:
        catalogue = read_po(fh, locale="bg")
    patterns = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        for msgid, msgstr in zip(ids, strings, strict=False):
            text = " ".join(msgid.split())
            letters = re.sub(PLACEHOLDER, "", text)
            # Words only: codes, numbers and symbols read the same in both languages.
            if msgstr == msgid or len(re.findall(r"[A-Za-z]{2,}", letters)) < 1:
                continue
            pieces = [re.escape(part) for part in PLACEHOLDER.split(text)]
            patterns.append((msgid, re.compile("^" + "(.+?)".join(pieces) + "$")))
    return patterns


def untranslated(page) -> list[str]:
    """The English interface texts on ``page``, with the msgid each one matches."""
    found = []
    for text in dict.fromkeys(page.evaluate(COLLECT)):
        if not re.search(r"[A-Za-z]{2,}", text):
            continue
        for msgid, pattern in english_patterns():
            if pattern.match(text):
                found.append(f"{text!r} (msgid {msgid!r})")
                break
    return found
