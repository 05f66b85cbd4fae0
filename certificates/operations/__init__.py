"""Writes for certification: schemes, waivers, issuance, status changes, renewal, batches.

Operations take models and plain values, flush, audit and return; they never
commit, except issuance and renewal, which sign and render between two short
committed writes so that no write lock is held meanwhile (see :mod:`.issuance`).
``actor=None`` means the system itself (the command line without
``--as``); a person acting must hold the certifier role (or be an admin).

One module a part: :mod:`.common` (errors, the certifier check), :mod:`.schemes`
(schemes and waivers), :mod:`.status_lists`, :mod:`.issuance`, :mod:`.changes`
(suspension, revocation, expiry, review), :mod:`.renewal`, :mod:`.review` (grade
changes after issue) and :mod:`.batches` (bulk issuance). Callers use the names
below, from this package; a test that replaces a name patches the module that
looks it up.
"""

from certificates.operations.batches import ChunkHook, issue_batch, start_batch
from certificates.operations.changes import (
    expire_certificates,
    mark_reviewed,
    reinstate,
    revoke,
    suspend,
)
from certificates.operations.common import (
    MAX_REASON,
    CertificationError,
    ImpartialityConflict,
    NotAllowed,
    NotEligible,
    _reason,
    _require_certifier,
    add_months,
)
from certificates.operations.issuance import (
    ISSUE_ATTEMPTS,
    TEMPLATE_VERSION,
    check_impartiality,
    credential_bytes,
    issue_certificate,
    issue_or_get,
    live_certificate,
)
from certificates.operations.renewal import renew_certificate, renewal_due_reason
from certificates.operations.review import flag_for_review, on_grade_changed
from certificates.operations.schemes import (
    MAX_LOGO_BYTES,
    PARTICIPATION_FORMS,
    SCHEME_LONG_FIELDS,
    SCHEME_TEXT_FIELDS,
    add_requirement,
    check_logo,
    create_scheme,
    grant_waiver,
    parse_alignments,
    remove_requirement,
    scheme_code_taken,
    set_design,
    update_scheme,
)
from certificates.operations.status_lists import (
    DEFAULT_STATUS_LIST_VALIDITY_HOURS,
    allocate_status_index,
    current_status_list,
    publish_status,
    published_status_list,
    refresh_status_list,
    refresh_status_lists,
    status_list_due,
    status_list_validity,
)

__all__ = [
    "DEFAULT_STATUS_LIST_VALIDITY_HOURS",
    "ISSUE_ATTEMPTS",
    "MAX_LOGO_BYTES",
    "MAX_REASON",
    "PARTICIPATION_FORMS",
    "SCHEME_LONG_FIELDS",
    "SCHEME_TEXT_FIELDS",
    "TEMPLATE_VERSION",
    "CertificationError",
    "ChunkHook",
    "ImpartialityConflict",
    "NotAllowed",
    "NotEligible",
    "_reason",
    "_require_certifier",
    "add_months",
    "add_requirement",
    "allocate_status_index",
    "check_impartiality",
    "check_logo",
    "create_scheme",
    "credential_bytes",
    "current_status_list",
    "expire_certificates",
    "flag_for_review",
    "grant_waiver",
    "issue_batch",
    "issue_certificate",
    "issue_or_get",
    "live_certificate",
    "mark_reviewed",
    "on_grade_changed",
    "parse_alignments",
    "publish_status",
    "published_status_list",
    "refresh_status_list",
    "refresh_status_lists",
    "reinstate",
    "remove_requirement",
    "renew_certificate",
    "renewal_due_reason",
    "revoke",
    "scheme_code_taken",
    "set_design",
    "start_batch",
    "status_list_due",
    "status_list_validity",
    "suspend",
    "update_scheme",
]
