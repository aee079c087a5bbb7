"""One place that turns every error into the same JSON shape: {"code", "message", "errors"}."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from index import ArchiveUnavailable, WriteConflict

log = logging.getLogger(__name__)
bp = Blueprint("errors", __name__)

# HTTP status → machine-readable code, for errors raised by Flask/Werkzeug themselves.
_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "not_ready",
}


class ApiError(Exception):
    """An error to send to the client as it is."""

    def __init__(self, status: int, code: str, message: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors = errors or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, errors: dict | None = None, headers: dict | None = None):
    response = jsonify(code=code, message=message, errors=errors or {})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.app_errorhandler(ApiError)
def handle_api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.errors, exc.headers)


@bp.app_errorhandler(ValidationError)
def handle_validation_error(exc: ValidationError):
    errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return error_response(422, "validation_error", "The request body is not valid.", errors)


@bp.app_errorhandler(HTTPException)
def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}  # keeps Allow, Retry-After
    return error_response(status, _CODES.get(status, "http_error"), exc.description or exc.name, headers=headers)


@bp.app_errorhandler(ArchiveUnavailable)
def handle_archive_unavailable(exc: ArchiveUnavailable):
    # Nothing was written; reads keep being answered from this host's replica. The message
    # names the archive without its password (index/storage/postgres.py).
    log.warning("write refused: %s", exc)
    message = "The archive cannot take writes right now; nothing was written. Retry later."
    return error_response(503, "archive_unavailable", message, headers={"Retry-After": "5"})


@bp.app_errorhandler(WriteConflict)
def handle_write_conflict(exc: WriteConflict):
    return error_response(409, "conflict", str(exc) + "; read it again, then write.")


@bp.app_errorhandler(Exception)
def handle_unexpected(exc: Exception):
    # Log the traceback for operators; never send it (or internal paths) to the client.
    log.exception("unhandled error")
    return error_response(500, "internal_error", "An unexpected error occurred; it has been logged.")
