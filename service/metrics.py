"""`GET /metrics`: the service's figures in Prometheus text format, summed over gunicorn's workers.

Under gunicorn every worker writes its figures to files in `PROMETHEUS_MULTIPROC_DIR`
(prometheus-client's multiprocess mode): gunicorn.conf.py makes the directory, empties it
when the server starts and marks a worker's files dead when the worker exits, and a
scrape, answered by any one worker, reads every worker's files. Without the variable
(tests, `flask run`) the figures are this process's own.

Recorded as they happen (labels in brackets):
- `claimcheck_http_requests_total` [route, method, status]: requests answered; route is the
  URL rule (`/v1/articles/<article_id>`), `unmatched` for paths outside the API;
- `claimcheck_http_request_duration_seconds` [route]: histogram of the time to answer;
- `claimcheck_verdicts_total` [verdict]: one per claim (a batch counts each of its claims);
- `claimcheck_model_calls_total`, `claimcheck_model_call_items`, `claimcheck_model_call_seconds`
  [model: embedder, judge]: model calls, texts or pairs per call (concurrent requests share
  calls), time per call;
- `claimcheck_step_seconds` [step: encode, vector_search, bm25, checks, judge, reviews]: histogram of
  each step's time in a request;
- `claimcheck_index_reload_errors_total`: new index versions that failed to load;
- `claimcheck_article_writes_total` [outcome: created, updated, unchanged, deleted].

Read at scrape time from the answering worker (every worker serves the same index
directory and picks up a new version on its next request): `claimcheck_ready`,
`claimcheck_index_info` [version, model, judge], `claimcheck_index_generation`,
`claimcheck_index_articles`, `claimcheck_index_sentences`, `claimcheck_index_pending_sentences`,
`claimcheck_index_reload_failing` (1 while the newest version cannot be loaded).
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from index import Observer, set_observer

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Request times run from 2 ms (/healthz) to seconds (a 100-article write); model calls and steps are shorter.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_STEP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)
_ITEM_BUCKETS = (1, 2, 4, 8, 16, 32, 64)

REQUESTS = Counter("claimcheck_http_requests", "Requests answered.", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "claimcheck_http_request_duration_seconds", "Time to answer a request.", ["route"], buckets=_REQUEST_BUCKETS
)
VERDICTS = Counter("claimcheck_verdicts", "Verdicts given, one per claim.", ["verdict"])
MODEL_CALLS = Counter("claimcheck_model_calls", "Model calls (concurrent requests share them).", ["model"])
MODEL_CALL_ITEMS = Histogram(
    "claimcheck_model_call_items", "Texts or pairs carried by one model call.", ["model"], buckets=_ITEM_BUCKETS
)
MODEL_CALL_SECONDS = Histogram(
    "claimcheck_model_call_seconds", "Time of one model call.", ["model"], buckets=_STEP_BUCKETS
)
STEP_SECONDS = Histogram("claimcheck_step_seconds", "Time of one step of a request.", ["step"], buckets=_STEP_BUCKETS)
RELOAD_ERRORS = Counter("claimcheck_index_reload_errors", "New index versions that failed to load.")
ARTICLE_WRITES = Counter("claimcheck_article_writes", "Articles written, by outcome.", ["outcome"])


class PrometheusObserver(Observer):
    """The engine's reports (index/common/observe.py) as Prometheus figures."""

    def step(self, name: str, seconds: float) -> None:
        STEP_SECONDS.labels(name).observe(seconds)

    def model_call(self, model: str, items: int, seconds: float) -> None:
        MODEL_CALLS.labels(model).inc()
        MODEL_CALL_ITEMS.labels(model).observe(items)
        MODEL_CALL_SECONDS.labels(model).observe(seconds)

    def reload_failed(self) -> None:
        RELOAD_ERRORS.inc()


def install(app: Flask) -> None:
    """Count and time every request of `app` (after `request_log.install`, whose start time it
    reads), and let the engine report to Prometheus."""
    set_observer(PrometheusObserver())

    @app.after_request
    def _count(response):
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        REQUESTS.labels(rule, request.method, str(response.status_code)).inc()
        started = g.get("started")  # set by request_log, installed first: one clock per request
        if started is not None:
            REQUEST_SECONDS.labels(rule).observe(time.perf_counter() - started)
        return response


def count_verdicts(verdicts: list[str]) -> None:
    for verdict in verdicts:
        VERDICTS.labels(verdict).inc()


def count_writes(outcomes: list[str]) -> None:
    for outcome in outcomes:
        ARTICLE_WRITES.labels(outcome).inc()


def exposition() -> Response:
    """Every worker's recorded figures plus this worker's view of the live index, as text."""
    if os.environ.get(MULTIPROC_ENV):
        recorded = CollectorRegistry()
        MultiProcessCollector(recorded)
    else:
        recorded = REGISTRY
    live = CollectorRegistry()
    live.register(_LiveIndexCollector(current_app.extensions["verifier"]))
    return Response(generate_latest(recorded) + generate_latest(live), content_type=CONTENT_TYPE)


class _LiveIndexCollector:
    def __init__(self, holder):
        self.holder = holder

    def describe(self):
        return []  # so that registering it does not read the index's figures a second time

    def collect(self):
        ready = GaugeMetricFamily("claimcheck_ready", "1 when the model and index are loaded.")
        ready.add_metric([], 1.0 if self.holder.ready else 0.0)
        yield ready
        if not self.holder.ready:
            return
        stats = self.holder.verifier.stats()
        info = GaugeMetricFamily(
            "claimcheck_index_info",
            "The live index version and the models (value 1).",
            labels=["version", "model", "judge"],
        )
        judge = stats["judge"]["model"] if stats["judge"] else "none"
        info.add_metric([stats["version"], stats["model"], judge], 1.0)
        yield info
        for key, text in (
            ("generation", "The live index generation (grows with every write)."),
            ("articles", "Articles in the live index."),
            ("sentences", "Sentences in the live index."),
            ("pending_sentences", "Sentences written since the last snapshot."),
        ):
            gauge = GaugeMetricFamily(f"claimcheck_index_{key}", text)
            gauge.add_metric([], float(stats[key]))
            yield gauge
        failing = GaugeMetricFamily(
            "claimcheck_index_reload_failing", "1 while the newest index version cannot be loaded."
        )
        failing.add_metric([], 1.0 if stats["reload_error"] else 0.0)
        yield failing
