"""Cheap checks that bound the work a verification does, run before any JSON-LD processing.

Anyone may upload a credential, and canonicalising hostile JSON-LD can take minutes
(RDFC-1.0 "poison graphs"). So before the proof is checked an upload must be small,
shallow, of few nodes, from this centre's issuer and shaped exactly like a credential
this centre issues; anything else is refused with a sentence saying why, in well under
a millisecond per kilobyte. Canonicalisation itself also has a deterministic work bound
(:data:`certificates.credentials.jsonld.MAX_CANONICALISATION_WORK`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from certificates.credentials import shape
from certificates.credentials.checks import N_, Explained, Message, message
from certificates.credentials.verification import issuer_id

#: A credential of ours is a few kilobytes; a PDF's embedded one is refused beyond this.
MAX_CREDENTIAL_BYTES = 256 * 1024
#: Ours nest 8 levels deep (credential, subject, achievement, result description,
#: alignment, each with its arrays).
MAX_DEPTH = 16
#: Objects, arrays and values together; ours have a few hundred.
MAX_NODES = 5_000


class Refused(Explained):
    """The document is not something this centre issued; the message says why."""


def load_json(data: bytes | str) -> Any:
    """Parse JSON, refusing it when it is too large, too deep or has too many nodes."""
    if len(data) > MAX_CREDENTIAL_BYTES:
        raise Refused(
            message(
                N_("The credential is larger than %(size)s KB; no credential of this centre is."),
                size=MAX_CREDENTIAL_BYTES // 1024,
            )
        )
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        document = json.loads(text)
    except RecursionError as exc:
        raise Refused(_too_deep()) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(message(N_("The file is not valid JSON."))) from exc
    check_structure(document)
    return document


def _too_deep() -> Message:
    return message(
        N_("The JSON nests deeper than %(depth)s levels; no credential of this centre does."),
        depth=MAX_DEPTH,
    )


def check_structure(document: Any) -> None:
    """Refuse a parsed document nesting deeper than MAX_DEPTH or with more than MAX_NODES.

    Iterative, so no depth of nesting can exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise Refused(
                message(
                    N_(
                        "The JSON has more than %(count)s values; no credential of this centre has."
                    ),
                    count=MAX_NODES,
                )
            )
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth >= MAX_DEPTH and children:
            raise Refused(_too_deep())
        stack.extend((child, depth + 1) for child in children)


def is_our_issuer(candidate: str | None, our_ids: Iterable[str]) -> bool:
    """Return whether ``candidate`` is one of this centre's issuer ids.

    The ids come from :func:`certificates.issuer.issuer_ids`: the one place that
    lists them (the https issuer Profile, and any other identifier the centre uses).
    """
    return isinstance(candidate, str) and candidate in frozenset(our_ids)


def check_credential(credential: dict[str, Any], our_ids: Iterable[str] | None) -> None:
    """Refuse a credential from another issuer or not shaped like the ones we issue.

    ``our_ids`` is None offline, where the key given on the command line decides whom
    to trust.
    """
    if our_ids is not None and not is_our_issuer(issuer_id(credential), our_ids):
        named = issuer_id(credential)
        raise Refused(
            message(
                N_("The credential was not issued by this centre (its issuer is %(issuer)s).")
                if named
                else N_("The credential was not issued by this centre."),
                issuer=(named or "")[:200],
            )
        )
    problem = shape.credential_problem(credential)
    if problem is not None:
        raise Refused(
            message(
                N_("The credential is not shaped like one this centre issues: %(problem)s."),
                problem=problem,
            )
        )
