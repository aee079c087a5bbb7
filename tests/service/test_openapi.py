"""openapi.yaml is generated from the app; it must describe exactly what the app serves."""

import re

import yaml

from service.openapi import build_spec
from tests.conftest import ROOT


def test_committed_openapi_matches_the_app(app):
    committed = yaml.safe_load((ROOT / "openapi.yaml").read_text("utf-8"))
    assert committed == build_spec(app), "openapi.yaml is stale: run `make openapi`"


def test_every_route_is_documented(app):
    documented = {(path, method.upper()) for path, ops in build_spec(app)["paths"].items() for method in ops}
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == documented


def test_every_error_response_uses_the_error_schema(app):
    responses = build_spec(app)["components"]["responses"]
    for name, response in responses.items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name
