"""The Python client and the command-line client, against the real gunicorn server."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from client import ClaimCheckClient, ClaimCheckError
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def test_client_verifies_a_claim(server):
    base, _ = server
    result = ClaimCheckClient(base).verify("Russia launched 133 drones")
    assert result.verdict == "supported"
    assert "launched 133 drones" in result.decisive["text"]
    assert result.index_version


def test_client_batch_and_errors(server):
    base, _ = server
    client = ClaimCheckClient(base)
    verdicts = [r.verdict for r in client.verify_batch(["Russia launched 500 drones", "Bananas are yellow"])]
    assert verdicts == ["contradicted", "not_found"]
    with pytest.raises(ClaimCheckError) as info:
        client.verify("   ")
    assert (info.value.status, info.value.code) == (422, "validation_error")
    assert "claim" in info.value.errors


class _NotReadyTwice(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):
        type(self).calls += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        ready = type(self).calls > 2
        body = (
            {"claim": "x", "verdict": "not_found", "confidence": 1.0, "evidence": [], "decided_by": None}
            if ready
            else {"code": "not_ready", "message": "loading", "errors": {}}
        )
        data = json.dumps(body).encode()
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_client_retries_while_the_service_is_not_ready():
    httpd = HTTPServer(("127.0.0.1", 0), _NotReadyTwice)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        result = ClaimCheckClient(f"http://127.0.0.1:{httpd.server_port}", retries=3, backoff=0.01).verify("x")
        assert result.verdict == "not_found" and _NotReadyTwice.calls == 3
    finally:
        httpd.shutdown()


def test_client_reports_an_unreachable_service():
    with pytest.raises(ClaimCheckError) as info:
        ClaimCheckClient("http://127.0.0.1:9", retries=1, backoff=0.01, timeout=2).verify("x")
    assert info.value.code == "unreachable"


@pytest.mark.parametrize(
    ("claim", "code", "verdict"),
    [
        ("Russia launched 133 drones", 0, "SUPPORTED"),
        ("Russia launched 500 drones", 1, "CONTRADICTED"),
        ("Bananas are yellow", 2, "NOT_FOUND"),
    ],
)
def test_cli_exit_codes_follow_the_verdict(server, claim, code, verdict):
    base, _ = server
    done = run_cli(claim, "--url", base)
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(verdict)
    assert "Vance Tells Zelensky" in done.stdout


def test_cli_reads_claims_from_stdin_and_prints_json(server):
    base, _ = server
    done = run_cli("--url", base, "--json", stdin="Russia launched 133 drones\n\nBananas are yellow\n")
    assert done.returncode == 2
    assert [r["verdict"] for r in json.loads(done.stdout)] == ["supported", "not_found"]


def test_cli_errors_exit_3(server):
    base, _ = server
    too_long = run_cli("x" * 1001, "--url", base)
    assert too_long.returncode == 3 and "error:" in too_long.stderr and "claim" in too_long.stderr
    unreachable = run_cli("a claim", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr
    assert run_cli("--url", base, stdin="\n").returncode == 3


def test_an_editorial_tool_publishes_corrects_and_retracts_an_article(tmp_path, sample_index_dir):
    import shutil

    from service.processes import running_gunicorn

    index_dir = tmp_path / "index"
    shutil.copytree(sample_index_dir, index_dir)
    key = "client-test-write-key-0123456789"
    with running_gunicorn(index_dir, workers=1, API_KEYS=f"cms:write:{key}") as (base, _):
        cms = ClaimCheckClient(base, api_key=key)
        article = {"id": "odesa-port", "title": "Odesa", "text": "Drones struck the port of Odesa on Monday."}
        written = cms.put_articles([article])
        assert written["articles"] == [{"id": "odesa-port", "sentences": 1, "status": "created"}]
        result = cms.verify("Drones struck the port of Odesa", article_ids=["odesa-port"])
        assert result.verdict == "supported" and result.generation == written["generation"]
        cms.put_articles([{**article, "text": "Drones struck the port of Odesa on Tuesday."}])
        assert cms.get_article("odesa-port")["body"].endswith("Tuesday.")
        assert cms.delete_article("odesa-port") is True
        assert cms.delete_article("odesa-port") is False and cms.get_article("odesa-port") is None
        with pytest.raises(ClaimCheckError) as info:
            ClaimCheckClient(base).put_articles([article])  # no key
        assert info.value.status == 401
