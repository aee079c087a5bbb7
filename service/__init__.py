"""HTTP layer: a thin Flask shell around the `index` engine."""

from __future__ import annotations

import logging

from flask import Flask
from flask_cors import CORS

from index.verify import ClaimVerifier
from service.config import Settings
from service.engine import VerifierHolder


def create_app(
    config: Settings | None = None, verifier: ClaimVerifier | None = None, load_engine: bool = True
) -> Flask:
    """App factory. Loads the model and index for this process unless a `verifier` is given
    (tests) or `load_engine` is false (exporting the OpenAPI document)."""
    settings = config or Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False

    from service import errors, openapi, request_log, status, ui, verify

    request_log.install(app)

    for blueprint in (errors.bp, verify.bp, status.bp, openapi.bp, ui.bp):
        app.register_blueprint(blueprint)
    if settings.cors_origins:
        # Editorial tools on other origins may call the API from the browser.
        CORS(app, origins=settings.cors_origins, methods=["GET", "POST"], allow_headers=["Content-Type"])

    holder = VerifierHolder(verifier)
    app.extensions["verifier"] = holder
    if load_engine:
        holder.start(settings, background=settings.load_in_background)
    return app
