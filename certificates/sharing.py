"""Ways a holder shares a certificate elsewhere: LinkedIn's "Add to profile" link."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app

from certificates import issuer
from certificates.models import Certificate
from lms.i18n import current_language

#: LinkedIn's "Add to profile" form for a certification (its documented query parameters).
LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def _local(moment: datetime) -> datetime:
    """Return ``moment`` in the centre's time zone, as printed on the certificate."""
    return moment.astimezone(ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC")))


def linkedin_url(cert: Certificate) -> str:
    """Return the link that opens LinkedIn's form with the certification filled in.

    The name is the title printed on the certificate in the holder's language, the
    organisation the issuing centre, the dates those of the certificate (no expiry if
    it has none), the credential URL the public verification page and the credential
    ID its code.
    """
    printed = cert.snapshot.get("scheme") or {}
    name = printed.get(f"title_{current_language()}") or printed.get("title_en")
    issued = _local(cert.valid_from)
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": name or cert.scheme.tr("title"),
        "organizationName": cert.snapshot.get("centre_name") or current_app.config["CENTRE_NAME"],
        "issueYear": issued.year,
        "issueMonth": issued.month,
    }
    if cert.valid_until is not None:
        expires = _local(cert.valid_until)
        params |= {"expirationYear": expires.year, "expirationMonth": expires.month}
    params |= {"certUrl": issuer.verify_url(cert.code), "certId": cert.code}
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(params)}"
