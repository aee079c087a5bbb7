"""Property-based fuzzing of the real app against the committed openapi.yaml (schemathesis).

Valid and invalid bodies alike: no 5xx, every response conforms to the spec, every
error has the JSON error shape. Runs in-process (WSGI) with the real model and index.
"""

import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import ROOT

schema = schemathesis.openapi.from_path(str(ROOT / "openapi.yaml"))
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], deterministic=True
)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case, app):
    response = case.call_and_validate(app=app)
    if response.status_code >= 400:
        assert set(response.json()) == {"code", "message", "errors"}
