"""Reading a JSON request body through a marshmallow schema, with the right status for each failure."""

from __future__ import annotations

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest

from service.errors import ApiError


def load_json_body(schema: Schema | None) -> dict | list:
    """415 if not JSON, 400 if malformed JSON, 422 (via ValidationError) if it breaks the schema.

    Without a schema, the parsed JSON is returned as it is (the caller validates it)."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")
    try:
        data = request.get_json()
    except BadRequest as exc:
        if exc.code == 413:
            raise
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    return data if schema is None else schema.load(data)
