"""Cohorts, enrolment, waiting lists, progress and the trainee dashboard."""

from flask import Blueprint

bp = Blueprint("enrolment", __name__, template_folder="../templates")
