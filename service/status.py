"""Liveness, readiness and index statistics."""

from __future__ import annotations

from flask import Blueprint, current_app

from service.auth import READ, requires
from service.engine import get_verifier, get_writer
from service.metrics import exposition
from service.openapi import ENGINE, gives
from service.schemas import IndexStatsSchema, StatusSchema

bp = Blueprint("status", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness.
    ---
    get:
      summary: The process is up (it may still be loading)
      responses:
        200:
          description: Always, while the process answers.
          content:
            application/json:
              schema: StatusSchema
    """
    return StatusSchema().dump({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness.
    ---
    get:
      summary: The model and index are loaded and claims can be verified
      responses:
        200:
          description: Ready.
          content:
            application/json:
              schema: StatusSchema
        503:
          description: Not ready; `reason` says why (still loading, or the index is missing or corrupt).
          content:
            application/json:
              schema: StatusSchema
    """
    holder = current_app.extensions["verifier"]
    if holder.ready:
        # Reads are answered from this host's replica whatever the shared archive does; when it
        # is out of reach, say so (writes answer 503) without taking the host out of rotation.
        archive = holder.writer.archive_status() if holder.writer else {}
        if archive.get("error"):
            note = f"writes unavailable, reads answered from this host's replica: {archive['error']}"
            return StatusSchema().dump({"status": "ready", "archive": note})
        return StatusSchema().dump({"status": "ready"})
    return StatusSchema().dump({"status": "not_ready", "reason": holder.reason()}), 503, {"Retry-After": "5"}


@bp.get("/v1/index")
@gives(ENGINE)
@requires(READ)
def index_stats():
    """Index statistics.
    ---
    get:
      summary: What the service is answering from
      responses:
        200:
          description: The live index version, its size and the embedding model.
          content:
            application/json:
              schema: IndexStatsSchema
    """
    return IndexStatsSchema().dump(get_verifier().stats() | {"archive": get_writer().archive_status()})


@bp.get("/metrics")
@requires(READ)
def metrics():
    """Prometheus metrics.
    ---
    get:
      summary: The service's figures in Prometheus text format, summed over the server's workers
      description: >
        Requests by route and status, latency histograms, verdicts by kind, model calls and
        texts per call, time per step, the live index's version and size, reload errors and
        article writes (the list is in service/metrics.py). Open like /healthz, unless
        REQUIRE_AUTH_FOR_READS is set: then it needs a key, as every read does.
      responses:
        200:
          description: Prometheus text exposition format 0.0.4.
          content:
            text/plain:
              schema: {type: string}
    """
    return exposition()
