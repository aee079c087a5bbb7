"""Request ids and the structured access log: one JSON line per request, carrying the id."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid

from flask import Flask, g, request

log = logging.getLogger("service.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is echoed only if it is short and plain, so it is safe in headers and logs.
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def install(app: Flask) -> None:
    """Give every request an id (the caller's, or a new one), return it, and log the request."""
    if not log.handlers:  # bare JSON lines on stderr, not wrapped in the app log's format
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def _start() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        log.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                    "bytes": response.calculate_content_length(),
                    "remote": request.remote_addr,
                    "key": g.get("api_key_name"),
                    "pid": os.getpid(),
                }
            )
        )
        return response
