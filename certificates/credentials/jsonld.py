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

from cachetools import LRUCache
from frozendict import frozendict
from pyld import jsonld
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer

logger = logging.getLogger(__name__)

CONTEXTS_DIR = Path(__file__).resolve().parent.parent / "contexts"

VC_V2_URL = "https://www.w3.org/ns/credentials/v2"
OB_V3_URL = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1_URL = "https://www.w3.org/ns/did/v1"
CID_V1_URL = "https://www.w3.org/ns/cid/v1"
MULTIKEY_V1_URL = "https://w3id.org/security/multikey/v1"

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
    # The DID v1 and Multikey v1 contexts as the Digital Bazaar loaders ship them
    # (npm did-context 3.1.1, @digitalbazaar/multikey-context 2.0.1), and the W3C
    # Controlled Identifiers v1 context (w3c/cid, context/v1.jsonld).
    DID_V1_URL: (
        CONTEXTS_DIR / "did-v1.jsonld",
        "62c1054bf404d6dd3a4b26b64f830fd72095f6a26edc4469908c94351352ce5f",
    ),
    CID_V1_URL: (
        CONTEXTS_DIR / "cid-v1.jsonld",
        "ea216ecc1cb02cd39b693dba2250141e270ba0bf95890be107dd9a9e8e43de85",
    ),
    MULTIKEY_V1_URL: (
        CONTEXTS_DIR / "multikey-v1.jsonld",
        "c5f3806f8286920573221938917988a18a4cc5a09e968d29649613c7a1c2b1f6",
    ),
}


class InvalidJsonLd(ValueError):
    """A document cannot be processed as JSON-LD with the pinned contexts."""


class ContextError(InvalidJsonLd):
    """A document uses a context that is not pinned here."""


class NotLossless(InvalidJsonLd):
    """A document says something its contexts do not define."""


class TooComplex(InvalidJsonLd):
    """Canonicalising a document would take more work than any credential of ours needs."""


#: The most work RDFC-1.0 may do on one document, counted in Hash N-Degree Quads calls
#: plus the permutations they try. Our credentials give every blank node a unique
#: first-degree hash and need none; a "poison graph" of look-alike blank nodes needs
#: factorially many, so it is refused at once instead of running for minutes.
MAX_CANONICALISATION_WORK = 1_000


class BoundedURDNA2015(URDNA2015):
    """RDFC-1.0 (URDNA2015) that raises TooComplex beyond a deterministic work budget.

    RDFC-1.0 asks implementations to guard against poison graphs; pyld has no such
    guard, so the work of the only expensive step is counted before it is done.
    """

    def __init__(self, budget: int = MAX_CANONICALISATION_WORK) -> None:
        super().__init__()
        self.budget = budget

    def _spend(self, work: int) -> None:
        self.budget -= work
        if self.budget < 0:
            raise TooComplex(
                "the document has too many look-alike blank nodes to canonicalise"
                " (a poison graph); no credential of this centre has them"
            )

    def hash_n_degree_quads(self, id_, issuer):
        self._spend(1)
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_, issuer):
        related = super().create_hash_to_related(id_, issuer)
        for nodes in related.values():
            # Hash N-Degree Quads tries every permutation of each group.
            self._spend(_factorial_capped(len(nodes), self.budget + 1))
        return related


def _factorial_capped(n: int, cap: int) -> int:
    """Return n!, or ``cap`` as soon as the product reaches it (n may be large)."""
    product = 1
    for factor in range(2, n + 1):
        product *= factor
        if product >= cap:
            return cap
    return product


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
        # Active contexts this loader's contexts produced, see _Processor.
        self.processed_contexts: LRUCache = LRUCache(maxsize=PROCESSED_CONTEXTS)

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


#: How many processed active contexts one loader keeps. Our credentials need a few
#: dozen (the pinned contexts and the type- and property-scoped contexts of OB 3.0);
#: the bound only matters for odd documents someone uploads.
PROCESSED_CONTEXTS = 512


def _local_context_key(local_ctx: Any) -> Any:
    """Return a hashable key naming a local context, or None if it has none.

    URLs name themselves (a loader serves one pinned document per URL). Embedded
    contexts here come from the term definitions of processed, frozen contexts, so
    they are named by identity; the cache entry keeps the object alive, so the
    identity cannot be reused by another object while the entry exists.
    """
    if isinstance(local_ctx, str):
        return ("url", local_ctx)
    if local_ctx is None or local_ctx is False:
        return ("null",)
    if isinstance(local_ctx, list):
        keys = tuple(_local_context_key(item) for item in local_ctx)
        return None if None in keys else ("list", keys)
    if isinstance(local_ctx, dict | frozendict):
        if len(local_ctx) == 1 and "@context" in local_ctx:
            return _local_context_key(local_ctx["@context"])
        return ("object", id(local_ctx))
    return None


class _Processor(jsonld.JsonLdProcessor):
    """pyld's processor, processing each (active context, local context) pair once.

    pyld caches a processed context under the identifier of the active context it was
    applied to, but it gives every clone made for a type-scoped context (which does
    not propagate) a new identifier, so the scoped contexts of OB 3.0 (hundreds of
    term definitions) were processed again for every credential. Here the result of
    processing is kept per loader, keyed by the identity of the frozen active context
    and the local context; pyld never changes a frozen context, and results are frozen,
    so the same inputs give the same active context object back.
    """

    def _process_context(
        self,
        active_ctx,
        local_ctx,
        options,
        override_protected=False,
        propagate=True,
        validate_scoped=True,
        cycles=None,
    ):
        memo = getattr(options.get("documentLoader"), "processed_contexts", None)
        key = None
        if memo is not None and isinstance(active_ctx, frozendict):
            local_key = _local_context_key(local_ctx)
            if local_key is not None:
                key = (
                    id(active_ctx),
                    local_key,
                    options.get("base"),
                    options.get("processingMode"),
                    override_protected,
                    propagate,
                    validate_scoped,
                )
                hit = memo.get(key)
                if hit is not None:
                    return hit[2]
        result = super()._process_context(
            active_ctx,
            local_ctx,
            options,
            override_protected=override_protected,
            propagate=propagate,
            validate_scoped=validate_scoped,
            cycles=cycles,
        )
        if key is not None and isinstance(result, frozendict):
            # Keep the inputs alive with the result: their identities are in the key.
            memo[key] = (active_ctx, local_ctx, result)
        return result


default_loader = PinnedDocumentLoader()

#: pyld keeps processed contexts in cachetools LRU caches (its own module-level ones and
#: one per resolved context), which are not safe to touch from two threads at once.
#: The work is CPU-bound under the GIL, so running one operation at a time costs nothing.
_pyld_lock = threading.Lock()


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


def copy_json(value: Any) -> Any:
    """Return a deep copy of JSON data (dicts, lists and scalars), faster than deepcopy."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def _expand(doc: Mapping[str, Any], loader: PinnedDocumentLoader) -> list[Any]:
    """Return the JSON-LD expansion of ``doc`` (call under _pyld_lock).

    pyld expands a deep copy of what it is given, so ``doc`` is passed as it is.
    """
    return _Processor().expand(dict(doc), loader.options(base=""))


def _canonical_from_expanded(expanded: list[Any], loader: PinnedDocumentLoader) -> str:
    """Return the RDFC-1.0 canonical N-Quads of an expanded document.

    What pyld's to_rdf does after its own expansion, then the bounded RDFC-1.0.
    """
    processor = _Processor()
    options = loader.options(
        base="",
        produceGeneralizedRdf=False,
        extractAllScripts=True,
        processingMode="json-ld-1.1",
    )
    issuer = IdentifierIssuer("_:b")
    node_map: dict[str, Any] = {"@default": {}}
    with _pyld_lock:
        processor._create_node_map(expanded, node_map, "@default", issuer)
        dataset = {}
        for graph_name, graph in sorted(node_map.items()):
            if graph_name == "@default" or jsonld._is_absolute_iri(graph_name):
                dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
    return BoundedURDNA2015().main(dataset, {"format": "application/n-quads"})


def canonize(doc: Mapping[str, Any], loader: PinnedDocumentLoader | None = None) -> str:
    """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of a JSON-LD document.

    Raise TooComplex rather than spend more than MAX_CANONICALISATION_WORK on it.
    """
    loader = loader or default_loader
    _context_urls(doc, loader)
    try:
        with _pyld_lock:
            expanded = _expand(doc, loader)
        return _canonical_from_expanded(expanded, loader)
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


def _check_lossless_expanded(
    doc: Mapping[str, Any], urls: list[str], expanded: list[Any], loader: PinnedDocumentLoader
) -> None:
    """Raise NotLossless unless compacting ``expanded`` (of ``doc``) gives ``doc`` back."""
    try:
        with _pyld_lock:
            compacted = _Processor().compact(
                copy_json(expanded),
                {"@context": urls},
                loader.options(base="", skipExpansion=True),
            )
    except jsonld.JsonLdError as exc:
        raise NotLossless(f"the document is not valid JSON-LD: {exc}") from exc
    problem = _first_difference(_squash(dict(doc)), _squash(compacted))
    if problem:
        raise NotLossless(problem)


def check_lossless(doc: Mapping[str, Any], loader: PinnedDocumentLoader | None = None) -> None:
    """Raise NotLossless unless expanding then compacting ``doc`` gives ``doc`` back.

    A property that no context defines is dropped by expansion, so it would be
    neither signed nor understood by a verifier; this finds it.
    """
    loader = loader or default_loader
    urls = _context_urls(doc, loader)
    try:
        with _pyld_lock:
            expanded = _expand(doc, loader)
    except jsonld.JsonLdError as exc:
        raise NotLossless(f"the document is not valid JSON-LD: {exc}") from exc
    _check_lossless_expanded(doc, urls, expanded, loader)


def canonize_lossless(doc: Mapping[str, Any], loader: PinnedDocumentLoader | None = None) -> str:
    """Check ``doc`` as check_lossless does and return its canonical form as canonize does.

    One expansion serves both: the lossless check compacts it, the canonical form is
    built from it. Raise NotLossless or another InvalidJsonLd as those two would.
    """
    loader = loader or default_loader
    urls = _context_urls(doc, loader)
    try:
        with _pyld_lock:
            expanded = _expand(doc, loader)
    except jsonld.JsonLdError as exc:
        raise NotLossless(f"the document is not valid JSON-LD: {exc}") from exc
    _check_lossless_expanded(doc, urls, expanded, loader)
    try:
        return _canonical_from_expanded(expanded, loader)
    except jsonld.JsonLdError as exc:
        raise InvalidJsonLd(f"the document is not valid JSON-LD: {exc}") from exc
