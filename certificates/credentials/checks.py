"""Named verification checks, each passed or failed with a reason a person understands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lms.i18n import N_

__all__ = ["N_"]  # re-exported: what checks say is marked with it


#: Check names, in the order a report lists them.
FORMAT = "format"
SCHEMA = "schema"
ISSUER_KEY = "issuer_key"
PROOF = "proof"
STATUS = "status"
VALIDITY = "validity"
ORDER = (FORMAT, SCHEMA, ISSUER_KEY, PROOF, STATUS, VALIDITY)


@dataclass(frozen=True)
class Message:
    """A translatable sentence: a msgid with ``%(name)s`` placeholders and their values.

    Verification runs without a request too (command line, workers), so what a check
    says is kept as a Message; pages translate it into the reader's language, while
    the JSON API and the command line show its English rendering (``detail``).

    A value may be a string, a number, a datetime (pages format it for the reader's
    locale) or another Message (translated in turn).
    """

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: A more technical English sentence, when the msgid leaves out what is only English
    #: (a library's own error text).
    detail: str | None = None

    def english(self) -> str:
        """Return the sentence in English, nested messages included."""
        if self.detail is not None:
            return self.detail
        return self.msgid % {name: _english(value) for name, value in self.params.items()}


def _english(value: Any) -> Any:
    if isinstance(value, Message):
        return value.english()
    return value


def message(msgid: str, **params: Any) -> Message:
    """Return the Message ``msgid`` with ``params``."""
    return Message(msgid, params)


class Explained(ValueError):
    """An error whose English text is its ``str`` and whose ``message`` pages translate."""

    def __init__(self, explanation: Message, detail: str | None = None) -> None:
        super().__init__(explanation.english() if detail is None else detail)
        self.message = explanation


@dataclass(frozen=True)
class Check:
    """One named check of a verification and why it passed or failed.

    ``detail`` is the English sentence the JSON report and the command line show;
    ``message`` is the same (sometimes less technical) sentence for pages to translate.
    """

    name: str
    passed: bool
    detail: str
    message: Message | None = field(default=None, compare=False)

    @classmethod
    def said(cls, name: str, passed: bool, msgid: str, **params: Any) -> Check:
        """Return a check whose detail is ``msgid`` with ``params``, in English."""
        explanation = Message(msgid, params)
        return cls(name, passed, explanation.english(), explanation)

    def as_dict(self) -> dict[str, Any]:
        """Return the check as the JSON report shows it."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class VerificationResult:
    """The checks of one verification; valid only when there are checks and all pass."""

    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        """Return whether every check passed."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        """Return the names of the checks that failed."""
        return [check.name for check in self.checks if not check.passed]

    def get(self, name: str) -> Check | None:
        """Return the check called ``name``, if it was made."""
        return next((check for check in self.checks if check.name == name), None)

    def with_checks(self, *checks: Check) -> VerificationResult:
        """Return a result with ``checks`` added, listed in the usual order."""
        merged = [*self.checks, *checks]
        rank = {name: index for index, name in enumerate(ORDER)}
        merged.sort(key=lambda check: rank.get(check.name, len(ORDER)))
        return VerificationResult(tuple(merged))

    def as_list(self) -> list[dict[str, Any]]:
        """Return the checks as the JSON report lists them."""
        return [check.as_dict() for check in self.checks]
