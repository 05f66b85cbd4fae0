"""Registration, log-in, log-out and password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
