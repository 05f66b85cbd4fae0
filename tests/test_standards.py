"""The standards files the suite relies on are the published ones, unchanged."""

import hashlib

from tests.standards import STANDARDS


def test_standard_files_match_their_recorded_digests():
    recorded = {}
    for line in (STANDARDS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        recorded[name] = digest
    assert len(recorded) >= 30
    for name, digest in recorded.items():
        assert hashlib.sha256((STANDARDS / name).read_bytes()).hexdigest() == digest, name


def test_the_vc_v2_context_has_the_hash_the_specification_makes_normative():
    data = (STANDARDS / "contexts" / "credentials-v2.jsonld").read_bytes()
    assert (
        hashlib.sha256(data).hexdigest()
        == "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734"
    )


def test_the_cid_v1_context_has_the_digest_the_recommendation_publishes():
    data = (STANDARDS / "contexts" / "cid-v1.jsonld").read_bytes()
    assert (
        hashlib.sha256(data).hexdigest()
        == "ea216ecc1cb02cd39b693dba2250141e270ba0bf95890be107dd9a9e8e43de85"
    )
