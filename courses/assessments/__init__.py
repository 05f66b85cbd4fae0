"""Quizzes, assignments and the gradebook: pure rules in ``scoring`` and ``grading_rules``."""
