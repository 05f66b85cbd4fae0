"""Extensions, created unbound and bound to the app in the factory."""

from typing import TYPE_CHECKING

from flask import request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from lms.db import Base

db = SQLAlchemy(model_class=Base)

# The models' base class. Flask-SQLAlchemy builds db.Model at run time from Base's body
# and its own mixins, so a type checker cannot see it as a class: to it, the models
# derive from the typed declarative Base, whose Mapped[] columns they declare.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)


def remote_address() -> str:
    """Return the client address as the rate limiter sees it."""
    return request.remote_addr or "unknown"
