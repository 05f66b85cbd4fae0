"""Named verification checks, each passed or failed with a reason a person understands."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

#: Check names, in the order a report lists them.
FORMAT = "format"
SCHEMA = "schema"
ISSUER_KEY = "issuer_key"
PROOF = "proof"
STATUS = "status"
VALIDITY = "validity"
ORDER = (FORMAT, SCHEMA, ISSUER_KEY, PROOF, STATUS, VALIDITY)


@dataclass(frozen=True)
class Check:
    """One named check of a verification and why it passed or failed."""

    name: str
    passed: bool
    detail: str

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
