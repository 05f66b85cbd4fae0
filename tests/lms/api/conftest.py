"""Fixtures for API tests."""

import pytest

from tests.api_helpers import make_token


@pytest.fixture
def token_for(db):
    """Create a token: ``token_for(user, scopes=["read"], days=30)`` -> the secret."""

    def make(user, **kwargs):
        secret = make_token(user, **kwargs)
        db.session.commit()
        return secret

    return make
