"""Competency frameworks, proficiency scales and evidence: pure rules in ``rules``."""
