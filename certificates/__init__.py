"""Certification: schemes, certificates, signed credentials and their verification."""
