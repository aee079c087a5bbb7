"""Reading a JSON request body through a marshmallow schema, with the right status for each failure."""

from __future__ import annotations

import json

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import HTTPException

from service.errors import ApiError


class _DuplicateKey(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    # Parsers disagree on which of two equal keys wins; refusing is the only unambiguous answer.
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def load_json_body(schema: Schema | None) -> dict | list:
    """The body as JSON, loaded through `schema` (as it is without one).

    415 if not JSON or compressed, 413 if over the size limit, 400 if not UTF-8, not valid
    JSON, nested too deeply or repeating a key, 422 (via ValidationError) if it breaks the schema.
    """
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json.")
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        # Never inflated: a few kilobytes of gzip can expand to gigabytes.
        raise ApiError(415, "unsupported_media_type", "Compressed request bodies are not accepted; send plain JSON.")
    try:
        raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH, before reading it all
    except HTTPException:
        raise
    except Exception:  # the client stopped sending, or too slowly (gunicorn.conf.py's read deadline)
        raise ApiError(408, "request_timeout", "The request body did not arrive in time.") from None
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "The request body is not UTF-8.") from None
    except _DuplicateKey as exc:
        raise ApiError(400, "invalid_json", f"The key {str(exc)!r} appears twice in one object.") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "The request body is nested too deeply.") from None
    except ValueError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    return data if schema is None else schema.load(data)
