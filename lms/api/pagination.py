"""Paginated lists: ``?page=&per_page=``, an envelope with the total and links."""

from __future__ import annotations

import marshmallow as ma
from flask import url_for

from lms.api.schemas import ApiSchema
from lms.extensions import db

MAX_PER_PAGE = 100


class PageArgs(ma.Schema):
    """Query arguments of a list; unknown query arguments are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(
        load_default=20, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


class PageLinksSchema(ApiSchema):
    self = ma.fields.String(required=True)
    next = ma.fields.String(allow_none=True, required=True)
    prev = ma.fields.String(allow_none=True, required=True)


_page_schemas: dict[type, type] = {}


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """Return the envelope schema ``{items, page, per_page, total, links}`` of a list."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item_schema] = type(
            name,
            (ApiSchema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "page": ma.fields.Integer(required=True),
                "per_page": ma.fields.Integer(required=True),
                "total": ma.fields.Integer(required=True),
                "links": ma.fields.Nested(PageLinksSchema, required=True),
            },
        )
    return _page_schemas[item_schema]


def paginate(select, args: dict, *, endpoint: str, **url_args) -> dict:
    """Run ``select`` (ordered by a unique key) one page at a time and wrap the page."""
    page, per_page = args["page"], args["per_page"]
    result = db.paginate(select, page=page, per_page=per_page, error_out=False, count=True)
    query = {k: v for k, v in args.items() if k not in ("page", "per_page") and v is not None}

    def link(number):
        return url_for(endpoint, page=number, per_page=per_page, **url_args, **query)

    return {
        "items": list(result.items),
        "page": page,
        "per_page": per_page,
        "total": result.total,
        "links": {
            "self": link(page),
            "next": link(page + 1) if page * per_page < (result.total or 0) else None,
            "prev": link(page - 1) if page > 1 else None,
        },
    }
