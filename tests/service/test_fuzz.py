"""Property-based fuzzing of the real app against the committed openapi.yaml (schemathesis).

Valid and invalid bodies alike: no 5xx, every response conforms to the spec, every
error has the JSON error shape. Runs in-process (WSGI) with the real model and index, and
against a real gunicorn, whose own answers (its limits, a malformed request) and auth over
the network are then covered too.
"""

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth

from index.verify import ClaimVerifier, load_index
from service import create_app
from service.config import Settings
from service.processes import running_gunicorn
from tests.conftest import ROOT

WRITE_KEY = "fuzz-write-key-0123456789"

schema = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], deterministic=True
)
# Invalid data may also be refused by the server's own limits before the app sees it: a
# request line over 8,190 bytes (414), headers over theirs (431), a body over MAX_REQUEST_BYTES (413).
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413", "414", "431"]


@pytest.fixture(scope="module")
def writable_app(tmp_path_factory, sample_index_dir, embedder):
    """Its own copy of the index: fuzzed writes and deletes must not touch the shared one."""
    index_dir = tmp_path_factory.mktemp("fuzz") / "index"
    shutil.copytree(sample_index_dir, index_dir)
    settings = Settings(index_dir=str(index_dir), api_keys=(f"fuzz:write:{WRITE_KEY}",))
    return create_app(settings, verifier=ClaimVerifier(embedder, load_index(index_dir)))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case, writable_app):
    response = case.call_and_validate(
        app=writable_app,
        headers={"Authorization": f"Bearer {WRITE_KEY}"},
        # Its probe goes over the network, not to the in-process app; tests/service/test_articles_api.py
        # checks every write route without, with a wrong, and with a read-only key.
        excluded_checks=[ignored_auth],
    )
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "errors"}


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_index_dir, onnx_dir):
    """A real gunicorn (2 workers) on its own copy of the index: the answers gunicorn gives
    itself (its limits, a malformed request) are covered too, and auth is probed over the network."""
    index_dir = tmp_path_factory.mktemp("fuzz-served") / "index"
    shutil.copytree(sample_index_dir, index_dir)
    keys = f"fuzz:write:{WRITE_KEY}"
    with running_gunicorn(index_dir, workers=2, API_KEYS=keys, ONNX_DIR=str(onnx_dir)) as (base, _):
        yield base


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_api_conforms_to_its_spec(case, served):
    response = case.call_and_validate(base_url=served, headers={"Authorization": f"Bearer {WRITE_KEY}"})
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "errors"}
