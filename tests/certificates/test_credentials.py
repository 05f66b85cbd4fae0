"""Open Badges 3.0 credentials: build, schema, lossless JSON-LD, sign, verify, tamper."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest

from certificates.credentials import signing, status_list
from certificates.credentials.checks import FORMAT, ISSUER_KEY, ORDER, PROOF, SCHEMA, STATUS
from certificates.credentials.jsonld import (
    CONTEXTS_DIR,
    OB_V3_URL,
    VC_V2_URL,
    ContextError,
    NotLossless,
    PinnedDocumentLoader,
    canonize,
    check_lossless,
)
from certificates.credentials.openbadges import (
    AchievementSnapshot,
    CredentialError,
    CredentialSnapshot,
    IssuerSnapshot,
    Result,
    ResultDescription,
    SubjectSnapshot,
    build_credential,
    ecf_alignment,
    esco_alignment,
    identity_hash,
    issue_credential,
    matches_email,
    summary,
    validate_schema,
)
from certificates.credentials.verification import verify_credential
from tests.standards import STANDARDS

BASE = "https://lms.example.org"
ISSUER_ID = "did:web:lms.example.org"
LIST_URL = f"{BASE}/status-lists/1"
ISSUED = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
EMAIL = "Ivan.Petrov@Example.org"
ESCO_URI = "http://data.europa.eu/esco/skill/0a0a0a0a-1b1b-4c4c-8d8d-2e2e2e2e2e2e"


def make_snapshot(**changes) -> CredentialSnapshot:
    achievement = AchievementSnapshot(
        id=f"{BASE}/achievements/SC-PM",
        name="Smart City Project Manager",
        description="Plans and manages smart-city projects.",
        criteria="Pass SC-PM-101 with 60 or more and reach level 3 in E.2.",
        criteria_url=f"{BASE}/achievements/SC-PM#criteria",
        human_code="SC-PM",
        alignments=(
            esco_alignment(ESCO_URI, "manage projects"),
            ecf_alignment("E.2", "Project and Portfolio Management", f"{BASE}/competencies/E.2"),
        ),
        result_descriptions=(
            ResultDescription(
                id=f"{BASE}/achievements/SC-PM#course-SC-PM-101",
                name="SC-PM-101 course grade",
                result_type="Percent",
                value_min="0",
                value_max="100",
                required_value="60",
            ),
            ResultDescription(
                id=f"{BASE}/achievements/SC-PM#competency-E.2",
                name="E.2 Project and Portfolio Management",
                result_type="PerformanceLevel",
                allowed_values=("1", "2", "3", "4", "5"),
                required_value="3",
                alignments=(ecf_alignment("E.2", "Project and Portfolio Management", BASE),),
            ),
        ),
        in_language="en",
    )
    values = {
        "id": f"{BASE}/credentials/7K3QD-0ZB9M-XT2RA-H5W8C",
        "name": "Smart City Project Manager",
        "issuer": IssuerSnapshot(id=ISSUER_ID, name="Skills4Cities Centre", url=BASE),
        "achievement": achievement,
        "subject": SubjectSnapshot(
            name='Иван Петров <&> "Ivo" 🏙️',
            email=EMAIL,
            salt="5f1c0e7a9b2d4c6e8f0a1b2c3d4e5f60",
            results=(
                Result(f"{BASE}/achievements/SC-PM#course-SC-PM-101", value="78"),
                Result(f"{BASE}/achievements/SC-PM#competency-E.2", value="4"),
            ),
        ),
        "valid_from": ISSUED,
        "valid_until": ISSUED + timedelta(days=3 * 365),
        "awarded": ISSUED,
        "credential_status": status_list.status_entry(LIST_URL, 94567),
    }
    values.update(changes)
    return CredentialSnapshot(**values)


@pytest.fixture(scope="module")
def issuer_key():
    return signing.generate_key()


@pytest.fixture(scope="module")
def method(issuer_key):
    return signing.verification_method_id(ISSUER_ID, issuer_key)


@pytest.fixture(scope="module")
def resolver(issuer_key, method):
    return signing.key_set_resolver({method: issuer_key.public_key()})


@pytest.fixture(scope="module")
def signed(issuer_key, method):
    return issue_credential(make_snapshot(), issuer_key, method, ISSUED)


def signed_list(key, method, value: int = 0) -> dict:
    bits = status_list.StatusList()
    bits.set(94567, value)
    unsigned = status_list.build_status_list_credential(
        LIST_URL, ISSUER_ID, bits, ISSUED - timedelta(days=30)
    )
    return signing.sign(unsigned, key, method, ISSUED)


@pytest.fixture(scope="module")
def active_list(issuer_key, method):
    return signed_list(issuer_key, method)


def verify(document, resolver, status_list_credential, now=NOW):
    lists = {LIST_URL: status_list_credential}
    return verify_credential(document, resolver, now=now, status_lists=lists.get)


# --- contexts and the document loader -------------------------------------------------------


@pytest.mark.parametrize(
    ("packaged", "standard"),
    [
        ("credentials-v2.jsonld", "contexts/credentials-v2.jsonld"),
        ("ob-v3p0-context-3.0.3.json", "contexts/ob-v3p0-context-3.0.3.json"),
        (
            "ob_v3p0_achievementcredential_schema.json",
            "schemas/ob_v3p0_achievementcredential_schema.json",
        ),
        ("ob_v3p0_profile_schema.json", "schemas/ob_v3p0_profile_schema.json"),
    ],
)
def test_packaged_files_are_the_standard_files(packaged, standard):
    assert (CONTEXTS_DIR / packaged).read_bytes() == (STANDARDS / standard).read_bytes()


def test_loader_refuses_any_other_url():
    loader = PinnedDocumentLoader()
    with pytest.raises(ContextError, match="not pinned"):
        loader("https://www.w3.org/ns/credentials/examples/v2")
    assert loader(VC_V2_URL)["document"]["@context"]["@protected"] is True


def test_documents_with_unpinned_or_embedded_contexts_are_refused():
    with pytest.raises(ContextError, match="not pinned"):
        canonize({"@context": [VC_V2_URL, "https://evil.example/ctx"], "name": "x"})
    with pytest.raises(ContextError, match="embedded"):
        check_lossless({"@context": [VC_V2_URL, {"nick": "https://evil.example/nick"}]})
    nested = {"@context": [VC_V2_URL], "credentialSubject": {"@context": {"n": "urn:n"}, "n": 1}}
    with pytest.raises(ContextError, match="embedded"):
        canonize(nested)
    with pytest.raises(ContextError, match="no @context"):
        canonize({"name": "x"})


def test_contexts_are_loaded_once_per_loader():
    calls = []

    class CountingLoader(PinnedDocumentLoader):
        def __call__(self, url, options=None):
            calls.append(url)
            return super().__call__(url, options)

    loader = CountingLoader()
    credential = build_credential(make_snapshot())
    for _ in range(3):
        canonize(credential, loader)
        check_lossless(credential, loader)
    assert sorted(calls) == sorted([VC_V2_URL, OB_V3_URL])


def test_contexts_and_scoped_contexts_are_processed_once_per_loader(
    monkeypatch, issuer_key, method
):
    from pyld.jsonld import JsonLdProcessor

    definitions = []
    original = JsonLdProcessor._create_term_definition

    def counting(self, *args, **kwargs):
        definitions.append(args[1] if len(args) > 1 else None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(JsonLdProcessor, "_create_term_definition", counting)
    loader = PinnedDocumentLoader()
    first = build_credential(make_snapshot(name="First"))
    signing.sign(first, issuer_key, method, ISSUED, loader=loader)
    assert len(definitions) > 400  # the OB context and its scoped contexts, once
    definitions.clear()
    second = build_credential(make_snapshot(name="Second", valid_until=None))
    signed = signing.sign(second, issuer_key, method, ISSUED, loader=loader)
    assert definitions == []
    verified = signing.verify(
        signed, signing.key_set_resolver({method: issuer_key.public_key()}), loader=loader
    )
    assert verified.valid
    assert definitions == []
    # The same signature as with a loader that processes everything afresh.
    fresh = signing.sign(second, issuer_key, method, ISSUED, loader=PinnedDocumentLoader())
    assert fresh == signed


def test_signing_refuses_an_undefined_property_with_processed_contexts_cached(issuer_key, method):
    loader = PinnedDocumentLoader()
    credential = build_credential(make_snapshot())
    signing.sign(credential, issuer_key, method, ISSUED, loader=loader)
    for where in (credential, credential["credentialSubject"]):
        document = copy.deepcopy(credential)
        target = document if where is credential else document["credentialSubject"]
        target["nickname"] = "not in any context"
        with pytest.raises(signing.SigningError, match="nickname"):
            signing.sign(document, issuer_key, method, ISSUED, loader=loader)


def test_tampered_context_file_is_refused(tmp_path):
    changed = tmp_path / "v2.jsonld"
    changed.write_bytes((CONTEXTS_DIR / "credentials-v2.jsonld").read_bytes() + b" ")
    loader = PinnedDocumentLoader()
    loader._sources[VC_V2_URL] = (changed, loader._sources[VC_V2_URL][1])
    with pytest.raises(ContextError, match="digest"):
        loader(VC_V2_URL)


# --- building -------------------------------------------------------------------------------


def test_built_credential_is_schema_valid_and_lossless():
    credential = build_credential(make_snapshot())
    assert validate_schema(credential, raise_errors=False) == []
    check_lossless(credential)
    assert credential["@context"] == [VC_V2_URL, OB_V3_URL]
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["achievement"]["alignment"][0]["targetUrl"] == ESCO_URI


def test_subject_is_a_salted_email_hash_never_the_email():
    credential = build_credential(make_snapshot())
    email_identity = credential["credentialSubject"]["identifier"][0]
    assert email_identity == {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": identity_hash(EMAIL, "5f1c0e7a9b2d4c6e8f0a1b2c3d4e5f60"),
        "salt": "5f1c0e7a9b2d4c6e8f0a1b2c3d4e5f60",
    }
    assert email_identity["identityHash"].startswith("sha256$")
    assert len(email_identity["identityHash"]) == len("sha256$") + 64
    assert "example.org" not in json.dumps(credential).lower().replace(BASE[8:], "")
    assert matches_email(credential, "  ivan.petrov@example.ORG ")
    assert not matches_email(credential, "someone@example.org")


def test_identity_hash_follows_the_spec_example():
    # The OB 3.0 spec: 'a@example.com' salted with 'Kosher'.
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_status_entry_is_a_single_one_bit_revocation_entry():
    entry = build_credential(make_snapshot())["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["id"] == f"{LIST_URL}#94567"
    assert entry["statusListIndex"] == "94567"
    assert entry["statusPurpose"] == "revocation"
    assert "statusSize" not in entry
    assert "statusMessage" not in entry


def test_two_status_entries_fail_the_official_schema():
    credential = build_credential(make_snapshot())
    credential["credentialStatus"] = [credential["credentialStatus"]] * 2
    assert any(
        "credentialStatus" in error for error in validate_schema(credential, raise_errors=False)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"valid_until": ISSUED}, "end after it starts"),
        ({"subject": SubjectSnapshot(name="A", email=" ", salt="s")}, "e-mail"),
        ({"subject": SubjectSnapshot(name=" ", email="a@b.c", salt="s")}, "name"),
        (
            {"subject": SubjectSnapshot("A", "a@b.c", "s", (Result(f"{BASE}/nowhere", "1"),))},
            "no result description",
        ),
    ],
)
def test_build_refuses_inconsistent_snapshots(changes, message):
    with pytest.raises(CredentialError, match=message):
        build_credential(make_snapshot(**changes))


def test_summary_shows_what_a_verifier_may_see():
    shown = summary(build_credential(make_snapshot()))
    assert shown["holder"] == 'Иван Петров <&> "Ivo" 🏙️'
    assert shown["achievement"] == {
        "id": f"{BASE}/achievements/SC-PM",
        "name": "Smart City Project Manager",
        "code": "SC-PM",
    }
    assert shown["results"][1]["value"] == "4"
    assert shown["results"][1]["alignments"][0]["name"] == "Project and Portfolio Management"
    text = json.dumps(shown)
    assert "sha256$" not in text
    assert "ivan.petrov" not in text.lower()


def test_summary_tolerates_garbage():
    assert summary({"credentialSubject": [1], "issuer": 5}) == {"issuer": {"id": 5}}


# --- lossless -------------------------------------------------------------------------------


def test_undefined_top_level_property_is_named():
    credential = build_credential(make_snapshot())
    credential["nickname"] = "Vanko"
    with pytest.raises(NotLossless, match="nickname"):
        check_lossless(credential)


def test_undefined_nested_property_is_named():
    credential = build_credential(make_snapshot())
    credential["credentialSubject"]["achievement"]["eqfLevel"] = 5
    with pytest.raises(NotLossless, match=r"credentialSubject\.achievement\.eqfLevel"):
        check_lossless(credential)


# --- issuing --------------------------------------------------------------------------------


def test_issued_credential_has_one_proof_in_an_array_and_validates(signed, method):
    assert validate_schema(signed, raise_errors=False) == []
    assert isinstance(signed["proof"], list)
    assert len(signed["proof"]) == 1
    proof = signed["proof"][0]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == method
    assert proof["created"] == "2025-03-01T09:30:00Z"
    assert proof["proofValue"].startswith("z")


def test_issue_refuses_a_key_not_of_the_issuer(issuer_key):
    other = signing.verification_method_id("https://evil.example/issuer", issuer_key)
    with pytest.raises(CredentialError, match="issuer's keys"):
        issue_credential(make_snapshot(), issuer_key, other, ISSUED)


def test_issue_refuses_a_schema_failure(issuer_key, method):
    snapshot = make_snapshot()
    bad = make_snapshot(
        achievement=AchievementSnapshot(**{**snapshot.achievement.__dict__, "in_language": "xx_"})
    )
    with pytest.raises(CredentialError, match="schema"):
        issue_credential(bad, issuer_key, method, ISSUED)


def test_issue_refuses_an_undefined_property(issuer_key, method):
    entry = {**status_list.status_entry(LIST_URL, 1), "reason": "none"}
    with pytest.raises(CredentialError, match="reason"):
        issue_credential(make_snapshot(credential_status=entry), issuer_key, method, ISSUED)


def test_sign_refuses_naive_times_and_second_proofs(issuer_key, method, signed):
    unsigned = build_credential(make_snapshot())
    with pytest.raises(signing.SigningError, match="timezone"):
        signing.sign(unsigned, issuer_key, method, datetime(2025, 1, 1))
    with pytest.raises(signing.SigningError, match="already has a proof"):
        signing.sign(signed, issuer_key, method, ISSUED)


# --- keys -----------------------------------------------------------------------------------


def test_multikeys_round_trip(issuer_key):
    public = signing.public_multikey(issuer_key)
    assert public.startswith("z6Mk")
    assert signing.public_multikey(signing.public_key_from_multikey(public)) == public
    secret = signing.private_multikey(issuer_key)
    assert signing.public_multikey(signing.private_key_from_multikey(secret)) == public
    with pytest.raises(ValueError, match="expected kind"):
        signing.public_key_from_multikey(secret)
    with pytest.raises(ValueError, match="base58btc"):
        signing.public_key_from_multikey("z0OIl")


def test_multikey_document_publishes_only_the_public_key(issuer_key, method):
    document = signing.multikey_document(ISSUER_ID, issuer_key)
    assert document["id"] == method
    assert document["type"] == "Multikey"
    assert document["controller"] == ISSUER_ID
    assert document["publicKeyMultibase"] == signing.public_multikey(issuer_key)
    assert signing.private_multikey(issuer_key) not in json.dumps(document)


def test_did_key_resolver_only_resolves_matching_did_keys(issuer_key):
    public = signing.public_multikey(issuer_key)
    assert signing.did_key_resolver(f"did:key:{public}#{public}") is not None
    assert signing.did_key_resolver(f"did:key:{public}#other") is None
    assert signing.did_key_resolver(f"{ISSUER_ID}#{public}") is None


# --- verifying ------------------------------------------------------------------------------


def test_issued_credential_verifies_with_every_check(signed, resolver, active_list):
    report = verify(signed, resolver, active_list)
    assert report.valid, report.result.checks
    assert [check.name for check in report.result.checks] == list(ORDER)
    assert report.status == "active"
    body = report.as_dict()
    assert body["valid"] is True
    assert set(body["checks"][0]) == {"name", "passed", "detail"}
    assert body["credential"]["holder"].startswith("Иван")


def tamper_holder_name(doc):
    doc["credentialSubject"]["identifier"][1]["identityHash"] = "Someone Else"


def tamper_credential_name(doc):
    doc["name"] = "Smart City Chief Executive"


def tamper_valid_from(doc):
    doc["validFrom"] = "2024-03-01T09:30:00Z"


def tamper_valid_until(doc):
    doc["validUntil"] = "2099-03-01T09:30:00Z"


def tamper_level(doc):
    doc["credentialSubject"]["result"][1]["value"] = "5"


def tamper_status_index(doc):
    entry = doc["credentialStatus"]
    entry["statusListIndex"] = "5"
    entry["id"] = f"{LIST_URL}#5"


def tamper_status_purpose(doc):
    doc["credentialStatus"]["statusPurpose"] = "suspension"


def tamper_added_property(doc):
    doc["credentialSubject"]["achievement"]["eqfLevel"] = 7


def tamper_remove_proof(doc):
    del doc["proof"]


def tamper_proof_object(doc):
    doc["proof"] = doc["proof"][0]


@pytest.mark.parametrize(
    ("tamper", "failed"),
    [
        (tamper_holder_name, [PROOF]),
        (tamper_credential_name, [PROOF]),
        (tamper_valid_from, [PROOF]),
        (tamper_valid_until, [PROOF]),
        (tamper_level, [PROOF]),
        (tamper_status_index, [PROOF]),
        (tamper_status_purpose, [PROOF, STATUS]),  # and our list serves no such purpose
        # The undefined property is not signed, so the signature still matches: only
        # the lossless check catches it.
        (tamper_added_property, [FORMAT]),
        (tamper_remove_proof, [FORMAT, ISSUER_KEY, PROOF]),
        (tamper_proof_object, [SCHEMA]),
    ],
)
def test_tampering_fails_the_named_check(signed, resolver, active_list, tamper, failed):
    doc = copy.deepcopy(signed)
    tamper(doc)
    report = verify(doc, resolver, active_list)
    assert not report.valid
    assert report.result.failed == failed


def test_proof_from_another_key_under_its_own_method_fails_issuer_key(
    signed, resolver, active_list
):
    attacker = signing.generate_key()
    unsigned = {key: value for key, value in signed.items() if key != "proof"}
    unsigned["name"] = "Forged"
    forged = signing.sign(
        unsigned, attacker, signing.verification_method_id(ISSUER_ID, attacker), NOW
    )
    report = verify(forged, resolver, active_list)
    assert report.result.failed == [ISSUER_KEY, PROOF]
    assert "not a known key" in report.result.get(ISSUER_KEY).detail


def test_proof_from_another_key_claiming_the_issuers_method_fails_proof(
    signed, resolver, method, active_list
):
    attacker = signing.generate_key()
    unsigned = {key: value for key, value in signed.items() if key != "proof"}
    forged = signing.sign(unsigned, attacker, method, ISSUED)
    report = verify(forged, resolver, active_list)
    assert report.result.failed == [PROOF]
    assert report.result.get(PROOF).detail == "the signature does not match the content"


def test_another_issuer_with_its_own_key_is_not_trusted(resolver, active_list):
    attacker = signing.generate_key()
    evil = "https://evil.example/issuer"
    snapshot = make_snapshot(issuer=IssuerSnapshot(id=evil, name="Skills4Cities Centre", url=evil))
    forged = issue_credential(
        snapshot, attacker, signing.verification_method_id(evil, attacker), ISSUED
    )
    # Even a resolver that knows the attacker's key refuses it for our issuer's methods.
    report = verify(forged, resolver, active_list)
    assert ISSUER_KEY in report.result.failed
    assert STATUS in report.result.failed  # our list is not the other issuer's


def test_revoked_fails_the_status_check(signed, resolver, issuer_key, method):
    report = verify(signed, resolver, signed_list(issuer_key, method, 1))
    assert report.result.failed == [STATUS]
    assert report.status == "revoked"
    assert report.result.get(STATUS).detail == "the credential is revoked"


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (status_list.REVOKED, "revoked"),
        (status_list.SUSPENDED, "suspended"),
        (status_list.REVOKED | status_list.SUSPENDED, "revoked"),
    ],
)
def test_earlier_two_bit_message_entries_still_read(issuer_key, value, status):
    """Credentials issued before the DID: issuer <BASE>/issuer and a two-bit message entry."""
    old_issuer = f"{BASE}/issuer"
    old_method = signing.verification_method_id(old_issuer, issuer_key)
    entry = status_list.status_entry(
        LIST_URL,
        94567,
        purpose=status_list.MESSAGE_PURPOSE,
        status_size=status_list.MESSAGE_STATUS_SIZE,
    )
    snapshot = make_snapshot(
        issuer=IssuerSnapshot(id=old_issuer, name="Skills4Cities Centre", url=BASE),
        credential_status=entry,
    )
    old = issue_credential(snapshot, issuer_key, old_method, ISSUED)
    bits = status_list.StatusList(status_size=status_list.MESSAGE_STATUS_SIZE)
    bits.set(94567, value)
    unsigned = status_list.build_status_list_credential(
        LIST_URL, old_issuer, bits, ISSUED, purpose=status_list.MESSAGE_PURPOSE
    )
    listed = signing.sign(unsigned, issuer_key, old_method, ISSUED)
    resolve = signing.key_set_resolver({old_method: issuer_key.public_key()})
    report = verify(old, resolve, listed)
    assert report.result.failed == [STATUS]
    assert report.status == status
    bits.set(94567, status_list.ACTIVE)
    unsigned["credentialSubject"]["encodedList"] = bits.encode()
    assert verify(old, resolve, signing.sign(unsigned, issuer_key, old_method, ISSUED)).valid


def test_status_list_must_be_available_and_genuine(
    signed, resolver, issuer_key, method, active_list
):
    missing = verify_credential(signed, resolver, now=NOW, status_lists=None)
    assert missing.result.failed == [STATUS]
    assert missing.status == "unknown"

    other_key = signing.generate_key()
    foreign = signed_list(other_key, signing.verification_method_id(ISSUER_ID, other_key))
    assert verify(signed, resolver, foreign).result.failed == [STATUS]

    edited = copy.deepcopy(active_list)
    revoked_bits = status_list.StatusList.decode(edited["credentialSubject"]["encodedList"])
    revoked_bits.set(94567, 0)
    revoked_bits.set(1, 1)
    edited["credentialSubject"]["encodedList"] = revoked_bits.encode()
    report = verify(signed, resolver, edited)
    assert report.result.failed == [STATUS]
    assert "does not verify" in report.result.get(STATUS).detail


def test_validity_period(signed, resolver, active_list):
    early = verify(signed, resolver, active_list, now=ISSUED - timedelta(seconds=1))
    assert early.result.failed == ["validity"]
    assert "not yet valid" in early.result.get("validity").detail
    late = verify(signed, resolver, active_list, now=ISSUED + timedelta(days=3 * 365))
    assert late.result.failed == ["validity"]
    assert "expired" in late.result.get("validity").detail


@pytest.mark.parametrize("document", [[], "text", 7, None, {"name": "x"}, {"@context": 5}])
def test_json_that_is_not_a_credential_fails_cleanly(resolver, active_list, document):
    report = verify(document, resolver, active_list)
    assert not report.valid
    assert FORMAT in report.result.failed
    assert PROOF in report.result.failed


def test_an_outcome_that_holds_only_for_a_time_says_so(signed, issuer_key, method, resolver):
    def report_with_list(valid_until):
        unsigned = status_list.build_status_list_credential(
            LIST_URL,
            ISSUER_ID,
            status_list.StatusList(),
            ISSUED - timedelta(days=30),
            valid_until=valid_until,
        )
        listed = signing.sign(unsigned, issuer_key, method, ISSUED - timedelta(days=30))
        return verify_credential(
            signed, resolver, now=ISSUED + timedelta(days=1), status_lists={LIST_URL: listed}.get
        )

    current = report_with_list(ISSUED + timedelta(days=10))
    assert current.valid
    assert not current.time_dependent
    lapsed = report_with_list(ISSUED - timedelta(days=1))
    assert lapsed.status == "unknown"
    assert lapsed.time_dependent
    # Other failures of the status check are not a matter of time.
    unavailable = verify_credential(
        signed, resolver, now=ISSUED + timedelta(days=1), status_lists={}.get
    )
    assert not unavailable.time_dependent
