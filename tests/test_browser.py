"""The verification page in headless Chromium (Debian's package), driven by Playwright.

Screenshots are saved under test-artifacts/ for a person to look at.
"""

import json
import shutil

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SAMPLE_URL = "https://www.themoscowtimes.com/2025/02/14/vance-tells-zelensky-us-wants-lasting-peace-a88025"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


def _check(browser, base, claim, viewport, submit):
    """Open the page at a viewport size, enter a claim, submit it by `submit`, wait for the result."""
    page = browser.new_page(viewport=viewport)
    page.goto(base + "/")
    page.fill("#claims", claim)
    submit(page)
    page.wait_for_selector(".result")
    return page


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.close()


def test_typing_a_claim_and_pressing_enter_shows_the_highlighted_sentence(browser, server):
    base, _ = server
    laptop = {"width": 1280, "height": 900}
    page = _check(browser, base, "Russia launched 133 drones", laptop, lambda p: p.press("#claims", "Enter"))
    assert page.inner_text(".badge").strip().lower() == "supported"
    first = page.locator("ol.evidence li").first
    assert "launched 133 drones" in first.locator("mark").inner_text()
    link = first.locator(".source a")
    assert link.get_attribute("href") == SAMPLE_URL
    assert link.inner_text() == "Vance Tells Zelensky U.S. Wants 'Lasting' Peace"
    _screenshot(page, "verify-page.png")


def test_a_contradicted_claim_shows_the_reason_on_a_phone(browser, server):
    base, _ = server
    phone = {"width": 390, "height": 844}
    page = _check(browser, base, "Russia launched 500 drones", phone, lambda p: p.click("#submit"))
    assert page.inner_text(".badge").strip().lower() == "contradicted"
    assert "the claim says 500 drones; the source says 133 drones" in page.inner_text("li.decisive")
    _screenshot(page, "verify-page-phone.png")


def test_a_failing_service_gives_a_clear_message(browser, server):
    base, _ = server
    page = browser.new_page()
    body = json.dumps({"code": "not_ready", "message": "The service is not ready yet; see /readyz.", "errors": {}})
    page.route("**/v1/verify", lambda route: route.fulfill(status=503, body=body, content_type="application/json"))
    page.route(
        "**/readyz",
        lambda route: route.fulfill(status=503, body='{"status": "not_ready", "reason": "loading"}'),
    )
    page.goto(base + "/")
    page.fill("#claims", "Russia launched 133 drones")
    page.press("#claims", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    assert "not ready" in page.inner_text("#error")
    page.wait_for_selector("#status:not([hidden])")
    assert "not ready yet" in page.inner_text("#status")
    page.close()


def test_a_draft_comes_back_annotated_and_a_claim_opens_its_evidence_on_a_phone(browser, server):
    from tests.test_drafts import DRAFT

    base, _ = server
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(base + "/")
    page.click("#mode-draft")
    page.fill("#draft", DRAFT)
    page.click("#draft-submit")
    page.wait_for_selector(".draft-text")
    assert page.inner_text(".draft-text") == DRAFT  # the draft itself, whole
    assert "133 drones" in page.inner_text(".draft-text .claim.supported")
    assert "500 drones" in page.inner_text(".draft-text .claim.contradicted")
    assert "Bank of Canada" in page.inner_text(".draft-text .claim.not_found")
    assert page.inner_text(".draft-text .not-claim >> nth=0") == "Is peace any closer?"
    assert page.inner_text(".look-first li >> nth=0").lower().startswith("contradicted")
    page.click(".draft-text .claim.contradicted")
    page.wait_for_selector("#draft-detail .result")
    assert page.inner_text("#draft-detail .badge").strip().lower() == "contradicted"
    assert "the claim says 500 drones; the source says 133 drones" in page.inner_text("#draft-detail li.decisive")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    _screenshot(page, "draft-page-phone.png")
