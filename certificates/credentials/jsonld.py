"""JSON-LD processing against pinned local contexts only: canonical form and lossless check."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

logger = logging.getLogger(__name__)

CONTEXTS_DIR = Path(__file__).resolve().parent.parent / "contexts"

VC_V2_URL = "https://www.w3.org/ns/credentials/v2"
OB_V3_URL = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#: The contexts a credential of ours may use, with their files and sha256 digests.
#: The VC v2 digest is the one the VC Data Model 2.0 makes normative.
PINNED_CONTEXTS: dict[str, tuple[Path, str]] = {
    VC_V2_URL: (
        CONTEXTS_DIR / "credentials-v2.jsonld",
        "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
    ),
    OB_V3_URL: (
        CONTEXTS_DIR / "ob-v3p0-context-3.0.3.json",
        "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
    ),
}


class InvalidJsonLd(ValueError):
    """A document cannot be processed as JSON-LD with the pinned contexts."""


class ContextError(InvalidJsonLd):
    """A document uses a context that is not pinned here."""


class NotLossless(InvalidJsonLd):
    """A document says something its contexts do not define."""


def _read_pinned(path: Path, sha256: str | None) -> Any:
    """Read a context file, refusing it if its digest differs from the pinned one."""
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ContextError(f"context file {path.name} does not match its pinned digest")
    return json.loads(data)


class PinnedDocumentLoader:
    """A pyld document loader that serves pinned files and refuses every other URL.

    Each loader keeps its own cache of processed contexts, so a context is parsed and
    processed once per process, and a loader with extra contexts (tests) never lends
    them to another.
    """

    def __init__(self, extra: Mapping[str, Path | Mapping] | None = None) -> None:
        self._sources: dict[str, tuple[Path, str] | tuple[Path | Mapping, None]] = dict(
            PINNED_CONTEXTS
        )
        for url, source in (extra or {}).items():
            self._sources[url] = (source, None)
        self._documents: dict[str, Any] = {}
        self._lock = threading.Lock()
        # Shared by every operation through this loader: pyld stores each processed
        # context here under its URL and looks it up before calling the loader again.
        self.resolved_contexts: dict[str, Any] = {}

    @property
    def urls(self) -> frozenset[str]:
        """Return the URLs this loader serves."""
        return frozenset(self._sources)

    def __call__(self, url: str, options: Mapping | None = None) -> dict[str, Any]:
        """Return the pinned document for ``url``; raise for any other URL."""
        if url not in self._sources:
            logger.warning("refused to load JSON-LD context %s", url)
            raise ContextError(f"context {url} is not pinned; nothing is fetched")
        with self._lock:
            if url not in self._documents:
                source, digest = self._sources[url]
                if isinstance(source, Path):
                    self._documents[url] = _read_pinned(source, digest)
                else:
                    self._documents[url] = copy.deepcopy(dict(source))
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self._documents[url]),
            # pyld keeps a processed context across operations only when it is static.
            "tag": "static",
        }

    def options(self, **extra: Any) -> dict[str, Any]:
        """Return pyld options using this loader and its cache of processed contexts."""
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self.resolved_contexts, self),
            **extra,
        }


default_loader = PinnedDocumentLoader()


def _nested_context(value: Any) -> bool:
    """Return whether any object below the top level carries its own @context."""
    if isinstance(value, dict):
        return "@context" in value or any(_nested_context(item) for item in value.values())
    if isinstance(value, list):
        return any(_nested_context(item) for item in value)
    return False


def _context_urls(doc: Mapping[str, Any], loader: PinnedDocumentLoader) -> list[str]:
    """Return the document's top-level contexts, requiring each to be a pinned URL."""
    if not isinstance(doc, Mapping):
        raise InvalidJsonLd("a JSON-LD document here is a JSON object")
    if any(_nested_context(value) for key, value in doc.items() if key != "@context"):
        raise ContextError("embedded contexts are not accepted, only the pinned context URLs")
    context = doc.get("@context")
    if context is None:
        raise ContextError("the document has no @context")
    urls = context if isinstance(context, list) else [context]
    for url in urls:
        if not isinstance(url, str):
            raise ContextError("only context URLs are accepted, not embedded contexts")
        if url not in loader.urls:
            raise ContextError(f"context {url} is not pinned")
    return urls


def canonize(doc: Mapping[str, Any], loader: PinnedDocumentLoader | None = None) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document."""
    loader = loader or default_loader
    _context_urls(doc, loader)
    try:
        return jsonld.normalize(
            copy.deepcopy(dict(doc)),
            loader.options(algorithm="URDNA2015", format="application/n-quads"),
        )
    except jsonld.JsonLdError as exc:
        raise InvalidJsonLd(f"the document is not valid JSON-LD: {exc}") from exc


def _squash(value: Any) -> Any:
    """Return ``value`` with every one-element array replaced by its element.

    Compaction writes a single value without its array; the array form is what the
    OB 3.0 schema asks for, and both say the same in JSON-LD.
    """
    if isinstance(value, list):
        if len(value) == 1:
            return _squash(value[0])
        return [_squash(item) for item in value]
    if isinstance(value, dict):
        return {key: _squash(item) for key, item in value.items()}
    return value


def _first_difference(given: Any, kept: Any, path: str = "") -> str:
    """Describe where ``kept`` differs from ``given`` (both squashed)."""
    if isinstance(given, dict) and isinstance(kept, dict):
        for key in given:
            if key not in kept:
                return f"property {path}{key} is not defined by the document's contexts"
            found = _first_difference(given[key], kept[key], f"{path}{key}.")
            if found:
                return found
        for key in kept:
            if key not in given:
                return f"property {path}{key} appears only after JSON-LD processing"
        return ""
    if isinstance(given, list) and isinstance(kept, list) and len(given) == len(kept):
        for index, (a, b) in enumerate(zip(given, kept, strict=True)):
            found = _first_difference(a, b, f"{path}{index}.")
            if found:
                return found
        return ""
    if given != kept or type(given) is not type(kept):
        return f"value of {path.rstrip('.') or 'the document'} changes in JSON-LD processing"
    return ""


def check_lossless(doc: Mapping[str, Any], loader: PinnedDocumentLoader | None = None) -> None:
    """Raise NotLossless unless expanding then compacting ``doc`` gives ``doc`` back.

    A property that no context defines is dropped by expansion, so it would be
    neither signed nor understood by a verifier; this finds it.
    """
    loader = loader or default_loader
    urls = _context_urls(doc, loader)
    try:
        expanded = jsonld.expand(copy.deepcopy(dict(doc)), loader.options())
        compacted = jsonld.compact(expanded, {"@context": urls}, loader.options())
    except jsonld.JsonLdError as exc:
        raise NotLossless(f"the document is not valid JSON-LD: {exc}") from exc
    problem = _first_difference(_squash(dict(doc)), _squash(compacted))
    if problem:
        raise NotLossless(problem)
