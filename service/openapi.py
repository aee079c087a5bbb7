"""The OpenAPI document, generated from the marshmallow schemas and the views' docstrings."""

from __future__ import annotations

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Blueprint, Flask, Response, current_app

from service import schemas

bp = Blueprint("docs", __name__)

TITLE = "Claim verification API"
VERSION = "1.0.0"

_ERROR_RESPONSES = {
    "InvalidJson": "The body is not valid JSON (or the request itself is malformed, as for BadRequest).",
    "BadRequest": "The server could not read the request: a malformed request line or header (gunicorn's check).",
    "UriTooLong": "The request line is longer than 8,190 bytes (gunicorn's limit_request_line; nginx: 8 KB).",
    "HeaderTooLarge": "A header is longer than 8,190 bytes, or there are more than 100 (nginx: 8 KB per line).",
    "InternalError": "An unexpected error; it is logged with the request's X-Request-ID.",
    "Unavailable": "Behind deploy/nginx.conf: no instance is ready; retry after `Retry-After` seconds.",
    "BadGateway": "Behind deploy/nginx.conf: no instance could answer (all down); retry after `Retry-After` seconds.",
    "GatewayTimeout": "Behind deploy/nginx.conf: the instance did not answer within 65 s.",
    "PayloadTooLarge": "The body is larger than the configured limit (MAX_REQUEST_BYTES, 4 MB by default).",
    "UnsupportedMediaType": "The body is not sent as application/json.",
    "ValidationError": "The body is JSON but breaks the schema; `errors` maps each field to its messages.",
    "NotReady": "The model or index is not loaded (yet); retry after `Retry-After` seconds.",
    "Unauthorized": "No valid API key in `Authorization: Bearer <key>`.",
    "Forbidden": "The key's role does not allow this (a read-only key on a write route), or writes are disabled.",
    "NotFound": "No such article or review.",
    "Conflict": "A review's evidence id is not a live sentence of the archive (its article was replaced or "
    "deleted, or there is no such sentence); `errors.evidence` names the ids.",
}


# The shared error responses a view can give, by what it does: each view declares its kinds
# with `@gives(...)` (and `@requires` adds the key's), so no docstring repeats them.
BODY, QUERY, ENGINE, ARTICLE, REVIEW, EVIDENCE = "json body", "query", "engine", "article", "review", "evidence"
# Every operation can get these from the server in front of the app (gunicorn, or nginx in
# `make cluster`) or from an unexpected failure; a view's own kinds override them by status.
SERVER = "server"
_ERRORS_OF = {
    SERVER: {
        400: "BadRequest",
        414: "UriTooLong",
        431: "HeaderTooLarge",
        500: "InternalError",
        502: "BadGateway",
        503: "Unavailable",
        504: "GatewayTimeout",
    },
    BODY: {400: "InvalidJson", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "ValidationError"},
    QUERY: {422: "ValidationError"},
    ENGINE: {503: "NotReady"},
    ARTICLE: {404: "NotFound"},
    REVIEW: {404: "NotFound"},
    EVIDENCE: {409: "Conflict"},
    "read": {401: "Unauthorized"},
    "write": {401: "Unauthorized", 403: "Forbidden"},
}


def gives(*kinds: str):
    """Decorator (under the route's): the kinds of shared error response the view can give."""
    unknown = set(kinds) - set(_ERRORS_OF)
    if unknown:
        raise ValueError(f"unknown error kinds: {sorted(unknown)}")

    def mark(view):
        view.error_kinds = (*getattr(view, "error_kinds", ()), *kinds)
        return view

    return mark


def _error_responses(view) -> dict[str, dict]:
    kinds = [
        SERVER,
        *getattr(view, "error_kinds", ()),
        *([view.required_role] if hasattr(view, "required_role") else []),
    ]
    found = {code: name for kind in kinds for code, name in _ERRORS_OF[kind].items()}
    return {str(code): {"$ref": f"#/components/responses/{found[code]}"} for code in sorted(found)}


def build_spec(app: Flask) -> dict:
    """The OpenAPI 3 document for every route the app serves."""
    spec = APISpec(
        title=TITLE,
        version=VERSION,
        openapi_version="3.0.3",
        info={
            "description": "Finds the sentences in a newsroom's own archive that support a claim, "
            "with similarity scores, a verdict and full provenance."
        },
        plugins=[FlaskPlugin(), MarshmallowPlugin()],
    )
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    # The request schemas with this app's limits, registered before the views name them.
    bound: schemas.RequestSchemas = app.extensions["request_schemas"]
    spec.components.schema("VerifyRequest", schema=bound.verify)
    spec.components.schema("BatchVerifyRequest", schema=bound.verify_batch)
    spec.components.schema("ArticleIn", schema=bound.article)
    spec.components.schema(
        "ArticleBatch",
        {
            "type": "array",
            "minItems": 1,
            "maxItems": app.config["SETTINGS"].max_articles_per_request,
            "items": {"$ref": "#/components/schemas/ArticleIn"},
            "description": "Up to MAX_ARTICLES_PER_REQUEST articles, committed in one transaction.",
        },
    )
    spec.components.schema("ReviewIn", schema=bound.review)
    # The review listing answers one of two shapes (`format`), named in its docstring.
    spec.components.schema("ReviewList", schema=schemas.ReviewListSchema)
    spec.components.schema("ClaimReviewFeed", schema=schemas.ClaimReviewFeedSchema)
    for name, description in _ERROR_RESPONSES.items():
        spec.components.response(
            name, {"description": description, "content": {"application/json": {"schema": "ErrorSchema"}}}
        )
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            view = app.view_functions[rule.endpoint]
            if rule.endpoint != "static" and view.__doc__ and "---" in view.__doc__:
                spec.path(view=view, app=app)
    document = spec.to_dict()
    for rule in app.url_map.iter_rules():
        operations = document["paths"].get(FlaskPlugin.flaskpath2openapi(rule.rule), {})
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() in operations:
                responses = operations[method.lower()].setdefault("responses", {})
                responses.update(_error_responses(app.view_functions[rule.endpoint]))
    return document


def spec_yaml(app: Flask) -> str:
    return yaml.safe_dump(build_spec(app), sort_keys=False, allow_unicode=True)


@bp.get("/openapi.yaml")
def openapi_yaml():
    """The API description.
    ---
    get:
      summary: This document
      responses:
        200:
          description: OpenAPI 3 in YAML.
          content:
            application/yaml: {}
    """
    cached = current_app.extensions.setdefault("openapi_yaml", spec_yaml(current_app))
    return Response(cached, mimetype="application/yaml")
