"""Base schema of the API's request and response bodies."""

import marshmallow as ma


class ApiSchema(ma.Schema):
    """A schema that refuses unknown fields (422) and documents them as not allowed."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class LinksSchema(ApiSchema):
    self = ma.fields.String(required=True, metadata={"description": "URL of this resource"})
