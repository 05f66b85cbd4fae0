"""Curricula, cohorts and enrolment."""
