"""The verification page in headless Chromium (Debian's package), driven by Playwright.

Screenshots are saved under test-artifacts/ for a person to look at.
"""

import json
import shutil

import pytest

from service.processes import get_json, post_json, running_gunicorn
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
SAMPLE_URL = "https://www.themoscowtimes.com/2025/02/14/vance-tells-zelensky-us-wants-lasting-peace-a88025"
PHONE = {"width": 360, "height": 740}  # the narrowest phone the page is made for
WRITE_KEY = "desk-write-key-0123456789"
READ_KEY = "dashboard-read-key-0123456789"


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


def _screenshot_keeping_open(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _screenshot(page, name):
    _screenshot_keeping_open(page, name)
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
    from tests.index.test_drafts import DRAFT

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


@pytest.fixture(scope="module")
def editors_server(tmp_path_factory, onnx_dir, sample_index_dir):
    """The service over its own copy of the sample index (reviews are written to it), with a
    write key and a read-only key."""
    index_dir = tmp_path_factory.mktemp("editors") / "index"
    shutil.copytree(sample_index_dir, index_dir)
    keys = f"desk:write:{WRITE_KEY},dashboard:read:{READ_KEY}"
    with running_gunicorn(index_dir, workers=1, API_KEYS=keys) as (base, _):
        yield base


def _open_review_form(page, verdict):
    page.focus(".record-review summary")
    page.keyboard.press("Enter")  # the keyboard opens it, as a tap does
    page.get_by_label("Verdict").select_option(verdict)


def _fits_the_phone(page):
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_an_editor_records_a_review_with_the_evidence_ticked_on_a_phone(browser, editors_server):
    base = editors_server
    claim = "Russia launched 500 drones"
    _, checked = post_json(base + "/v1/verify", {"claim": claim})
    cited = checked["evidence"][checked["decided_by"]]["sentence_id"]  # the sentence the verdict rests on
    page = _check(browser, base, claim, PHONE, lambda p: p.press("#claims", "Enter"))
    assert page.locator(".already-checked").count() == 0
    assert not page.locator(".cite").first.is_visible()  # no ticks until the editor records a review
    _open_review_form(page, "contradicted")
    page.locator("li.decisive .cite input").focus()
    page.keyboard.press("Space")
    assert "(1 ticked)" in page.inner_text(".review-form")
    page.get_by_label("Rating in your words").fill("False")
    page.get_by_label("Note").fill("The air force reported 133 drones.")
    page.get_by_label("Editor's API key").fill(WRITE_KEY)
    assert _fits_the_phone(page)
    page.get_by_role("button", name="Save review").click()

    page.wait_for_selector(".already-checked li[data-review-id]")
    assert page.inner_text(".already-checked h3").lower() == "already checked: contradicted"
    assert "desk" in page.inner_text(".already-checked li") and claim in page.inner_text(".already-checked li")
    assert page.evaluate("document.activeElement === document.querySelector('.already-checked h3')")
    assert "Saved." in page.inner_text(".saved")
    review_id = page.get_attribute(".already-checked li", "data-review-id")
    status, stored = get_json(f"{base}/v1/reviews/{review_id}")
    assert status == 200
    assert (stored["claim"], stored["verdict"], stored["rating"]["text"], stored["note"], stored["reviewed_by"]) == (
        claim, "contradicted", "False", "The air force reported 133 drones.", "desk",
    )  # fmt: skip
    assert [(e["sentence_id"], e["valid"]) for e in stored["evidence"]] == [(cited, True)]
    assert _fits_the_phone(page)
    _screenshot_keeping_open(page, "review-recorded-phone.png")

    # The next check of the claim finds the review through the service's own matching.
    page.evaluate("document.querySelector('.result').dataset.stale = 'true'")
    page.press("#claims", "Enter")
    page.wait_for_selector(".result:not([data-stale])")
    assert page.get_attribute(".already-checked li", "data-review-id") == review_id
    assert page.inner_text(".already-checked h3").lower() == "already checked: contradicted"
    assert page.inner_text(".already-checked li .why").startswith("Matched: ")  # why, in an editor's words
    assert page.get_by_label("Editor's API key").input_value() == WRITE_KEY  # kept in memory for the next review
    assert page.evaluate("window.sessionStorage.length + window.localStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    _screenshot_keeping_open(page, "review-matched-phone.png")

    # The editor marks the match "not the same claim": gone now, and from the next check of it too.
    page.get_by_role("button", name="Not the same claim").click()
    page.wait_for_function("document.querySelector('.already-checked [role=status]').textContent.startsWith('Marked')")
    assert page.locator(".already-checked li").count() == 0
    page.evaluate("document.querySelector('.result').dataset.stale = 'true'")
    page.press("#claims", "Enter")
    page.wait_for_selector(".result:not([data-stale])")
    assert page.locator(f'[data-review-id="{review_id}"]').count() == 0
    page.close()


def test_a_review_without_a_write_key_is_refused_clearly_on_a_phone(browser, editors_server):
    base = editors_server
    claim = "Vance and Zelensky met in Munich"  # far from the other test's claim: no review covers it
    page = _check(browser, base, claim, PHONE, lambda p: p.click("#submit"))
    _open_review_form(page, "supported")
    page.locator("ol.evidence li >> nth=0").locator(".cite input").check()
    save = page.get_by_role("button", name="Save review")
    key = page.get_by_label("Editor's API key")
    error = page.locator(".review-form .error")

    save.click()  # no key: the page asks for one before sending anything
    assert "Enter your editor's API key" in error.inner_text()
    assert key.evaluate("node => node === document.activeElement")
    assert key.get_attribute("aria-invalid") == "true"

    key.fill("not-a-key-of-this-newsroom")
    save.click()
    page.wait_for_function("document.querySelector('.review-form .error').innerText.includes('not accepted')")
    assert "The review was not saved: the key was not accepted." in error.inner_text()
    assert key.evaluate("node => node === document.activeElement")

    key.fill(READ_KEY)
    save.click()
    page.wait_for_function("document.querySelector('.review-form .error').innerText.includes('read-only')")
    assert "The key 'dashboard' is read-only; this needs a write key." in error.inner_text()

    # A note pasted from a PDF with a control character in it: the API's 422, by the form's own label.
    key.fill(WRITE_KEY)
    page.get_by_label("Note").fill("Copied from the minutes\x02 of the meeting.")
    save.click()
    page.wait_for_function("document.querySelector('.review-form .error').innerText.includes('Note:')")
    assert error.inner_text().startswith("The review was not saved.")
    assert "Note: Must not be blank or contain control characters." in error.inner_text()
    assert page.locator(".already-checked").count() == 0
    assert _fits_the_phone(page)
    _screenshot_keeping_open(page, "review-refused-phone.png")
    _, listed = get_json(base + "/v1/reviews")
    assert claim not in [r["claim"] for r in listed["reviews"]]  # nothing was stored
    page.close()
