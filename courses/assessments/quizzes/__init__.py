"""Quizzes: question banks, quiz settings, attempts graded once by the server."""
