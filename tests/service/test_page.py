"""The verification page and CORS, through the Flask test client."""

import re

from service import create_app
from service.config import Settings


def test_page_and_assets_are_served_by_the_app(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets == ["/static/app.css", "/static/app.js"]  # nothing from another host
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        assert "http://" not in response.get_data(as_text=True) and "https://" not in response.get_data(as_text=True)


def test_cors_allows_only_configured_origins(verifier, sample_index_dir):
    app = create_app(
        Settings(index_dir=str(sample_index_dir), cors_origins=("https://cms.example",)), verifier=verifier
    )
    client = app.test_client()
    allowed = client.post(
        "/v1/verify", json={"claim": "Russia launched 133 drones"}, headers={"Origin": "https://cms.example"}
    )
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://cms.example"
    other = client.post("/v1/verify", json={"claim": "x y z"}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/v1/verify",
        headers={
            "Origin": "https://cms.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://cms.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_no_cors_headers_by_default(client):
    response = client.post("/v1/verify", json={"claim": "x y z"}, headers={"Origin": "https://cms.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_origins_from_the_environment():
    assert Settings.from_env({"CORS_ORIGINS": "https://a.example, https://b.example"}).cors_origins == (
        "https://a.example",
        "https://b.example",
    )
