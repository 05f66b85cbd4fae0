"""Catalogue and course authoring."""

from flask import Blueprint

from courses import models  # noqa: F401 - register the tables

bp = Blueprint("courses", __name__, template_folder="templates")
