"""Core API endpoints: who the token belongs to."""

import marshmallow as ma
from flask import url_for

from lms.api import ApiSchema, api_blueprint, current_api_token, current_api_user, require_scope
from lms.api.auth import effective_scopes
from lms.api.schemas import LinksSchema

bp = api_blueprint("api_core", __name__, description="The token and its user")


class MeSchema(ApiSchema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    email = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    scopes = ma.fields.List(
        ma.fields.String(),
        required=True,
        metadata={"description": "The token's scopes that the user's roles allow"},
    )
    token_expires_at = ma.fields.DateTime(required=True)
    links = ma.fields.Nested(LinksSchema, required=True)


@bp.route("/me")
@require_scope("read", "learn", "teach", "certify", "admin")
@bp.response(200, MeSchema)
def me():
    """Return the token's user, roles and effective scopes."""
    user = current_api_user
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "roles": sorted(user.roles),
        "scopes": sorted(effective_scopes()),
        "token_expires_at": current_api_token.expires_at,
        "links": {"self": url_for("api_core.me")},
    }
