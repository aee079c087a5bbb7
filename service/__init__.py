"""HTTP layer: a thin Flask shell around the `index` engine."""

from __future__ import annotations

import logging

from flask import Flask
from flask_cors import CORS

from index import ClaimVerifier
from service.auth import KeyRing, load_keys
from service.config import Settings
from service.engine import VerifierHolder
from service.schemas import request_schemas


def create_app(
    config: Settings | None = None, verifier: ClaimVerifier | None = None, load_engine: bool = True
) -> Flask:
    """App factory. Loads the model and index for this process unless a `verifier` is given
    (tests) or `load_engine` is false (exporting the OpenAPI document)."""
    settings = config or Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = Flask(__name__)
    # Flask would take DEBUG from FLASK_DEBUG in the environment; a production service never debugs.
    app.config["DEBUG"] = False
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["SETTINGS"] = settings
    app.extensions["request_schemas"] = request_schemas(settings)
    app.json.sort_keys = False

    from service import articles, claims, drafts, errors, metrics, openapi, request_log, reviews, status, ui

    request_log.install(app)
    metrics.install(app)
    app.extensions["keyring"] = KeyRing(
        tuple(load_keys(settings.api_keys, settings.api_keys_file)), settings.require_auth_for_reads
    )

    for blueprint in (errors.bp, claims.bp, drafts.bp, articles.bp, reviews.bp, status.bp, openapi.bp, ui.bp):
        app.register_blueprint(blueprint)
    if settings.cors_origins:
        # Editorial tools on other origins may call the API from the browser.
        CORS(
            app,
            origins=settings.cors_origins,
            methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "Authorization", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location"],
        )

    holder = VerifierHolder(verifier, snapshot_after=settings.snapshot_after)
    app.extensions["verifier"] = holder
    if load_engine:
        holder.start(settings, background=settings.load_in_background)
    return app
