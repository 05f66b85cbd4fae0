"""Assignments: text and file submissions, rubrics, grading queue and release."""
