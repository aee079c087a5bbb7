"""The polite fetcher against a local server the tests start: robots.txt, per-host limits,
Retry-After, retries, timeouts, redirects, size cap, conditional requests. No model.

Waits go through the fetcher's `sleep`, recorded here instead of slept, so the tests assert
what the fetcher chose to wait, never how long anything took."""

from __future__ import annotations

import threading

import pytest
from sources_testing import OMIT, LocalSite, Reply

from index.ingestion.sources.fetcher import NOT_MODIFIED, OK, SKIPPED, USER_AGENT, Fetcher, FetchPolicy, Validators


class Waits:
    """A `sleep` that records and returns at once."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.asked.append(seconds)


@pytest.fixture
def site():
    with LocalSite() as running:
        running.routes["/robots.txt"] = Reply(404)
        yield running


def fetcher(**policy) -> tuple[Fetcher, Waits]:
    waits = Waits()
    defaults = {"min_interval": 0.0, "backoff": 1.0, "timeout": 5.0}
    return Fetcher(FetchPolicy(**{**defaults, **policy}), sleep=waits), waits


def test_it_names_the_project_and_reads_robots_txt_once_per_host(site):
    site.routes["/robots.txt"] = Reply(200, "User-agent: *\nDisallow: /private/\n")
    site.routes["/a"] = Reply(200, "a")
    site.routes["/private/b"] = Reply(200, "b")
    f, _ = fetcher()
    assert f.fetch(site.url("/a")).status == OK
    blocked = f.fetch(site.url("/private/b"))
    assert (blocked.status, blocked.reason) == (SKIPPED, "disallowed by robots.txt")
    assert site.paths_served() == ["/robots.txt", "/a"]  # /private/b never asked
    assert all(s.headers["user-agent"] == USER_AGENT for s in site.seen)
    assert "claimcheck" in USER_AGENT


def test_robots_txt_rules_for_this_agent_and_crawl_delay_are_honoured(site):
    site.routes["/robots.txt"] = Reply(
        200, "User-agent: claimcheck-sources\nDisallow: /news/private\nCrawl-delay: 7\n\nUser-agent: *\nDisallow: /\n"
    )
    site.routes["/news/a"] = Reply(200, "a")
    f, waits = fetcher(min_interval=0.5)
    assert [f.fetch(site.url(p)).status for p in ("/news/a", "/news/private/x", "/news/a")] == [OK, SKIPPED, OK]
    assert max(waits.asked) >= 7 - 0.5  # the second request to /news/a waited the Crawl-delay


def test_an_unreachable_robots_txt_means_nothing_is_fetched(site):
    site.routes["/robots.txt"] = Reply(500)
    site.routes["/a"] = Reply(200, "a")
    result = fetcher(retries=0)[0].fetch(site.url("/a"))
    assert result.status == SKIPPED and result.retryable
    assert result.reason == (
        "robots.txt could not be read (HTTP 500 after 1 attempts): nothing is fetched from this host"
    )
    assert site.paths_served() == ["/robots.txt"]


def test_requests_to_one_host_are_spaced_by_the_interval(site):
    site.routes["/a"] = Reply(200, "a")
    f, waits = fetcher(min_interval=10.0)
    for _ in range(4):
        f.fetch(site.url("/a"))
    # The clock does not move while the recorded sleeps return at once, so each request waits
    # one more interval than the one before.
    spaced = [w for w in waits.asked if w >= 1]  # robots.txt went first, unwaited
    assert len(spaced) == 4
    assert all(later - earlier > 9 for earlier, later in zip([0.0, *spaced], spaced, strict=False))


def test_no_more_than_the_per_host_concurrency_at_once(site):
    site.routes["/slow"] = Reply(200, "x", delay=0.2)
    f, _ = fetcher(per_host_concurrency=2)
    results = list(f.fetch_many([(site.url("/slow"), None)] * 8, workers=8))
    assert [r.status for r in results] == [OK] * 8
    assert site.max_in_flight == 2


def test_429_waits_out_retry_after_then_succeeds(site):
    answers = iter([Reply(429, "slow down", {"Retry-After": "17"}), Reply(200, "ok")])
    site.routes["/a"] = lambda request: next(answers)
    f, waits = fetcher()
    result = f.fetch(site.url("/a"))
    assert (result.status, result.body, result.attempts) == (OK, b"ok", 2)
    assert any(16 <= w <= 17 for w in waits.asked)  # the host was held off for Retry-After


def test_a_retry_after_http_date_is_honoured(site):
    answers = iter([Reply(503, "", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), Reply(200, "ok")])
    site.routes["/a"] = lambda request: next(answers)
    assert fetcher()[0].fetch(site.url("/a")).status == OK  # a date in the past: no wait, one retry


def test_a_retry_after_beyond_the_cap_skips_the_item(site):
    site.routes["/a"] = Reply(429, "", {"Retry-After": "86400"})
    result = fetcher(max_retry_after=60)[0].fetch(site.url("/a"))
    assert result.status == SKIPPED and result.retryable
    assert "Retry-After 86400s is longer than 60s" in result.reason
    assert site.paths_served(429) == ["/a"]


def test_5xx_is_retried_with_backoff_then_skipped(site):
    site.routes["/a"] = Reply(500, "boom")
    f, waits = fetcher(retries=3, backoff=2.0)
    result = f.fetch(site.url("/a"))
    assert (result.status, result.reason, result.retryable) == (SKIPPED, "HTTP 500 after 4 attempts", True)
    assert waits.asked == [2.0, 4.0, 8.0]
    assert site.paths_served(500) == ["/a"] * 4


def test_a_404_is_not_retried(site):
    result = fetcher()[0].fetch(site.url("/gone"))
    assert (result.status, result.reason, result.retryable) == (SKIPPED, "HTTP 404", False)


def test_a_slow_answer_times_out_and_is_skipped(site):
    site.routes["/slow"] = Reply(200, "late", delay=2.0)
    result = fetcher(timeout=0.3, retries=1)[0].fetch(site.url("/slow"))
    assert result.status == SKIPPED and result.retryable
    assert result.reason.startswith("no answer within")


def test_redirects_within_the_host_are_followed(site):
    site.routes["/old"] = Reply(301, "", {"Location": "/new"})
    site.routes["/new"] = Reply(200, "here")
    result = fetcher()[0].fetch(site.url("/old"))
    assert (result.status, result.final_url, result.body) == (OK, site.url("/new"), b"here")


def test_a_redirect_loop_is_skipped(site):
    site.routes["/a"] = Reply(302, "", {"Location": "/b"})
    site.routes["/b"] = Reply(302, "", {"Location": "/a"})
    result = fetcher()[0].fetch(site.url("/a"))
    assert (result.status, result.reason) == (SKIPPED, "redirect loop")


def test_a_redirect_to_another_host_is_skipped(site):
    site.routes["/a"] = Reply(302, "", {"Location": site.other_host_base + "/a"})
    result = fetcher()[0].fetch(site.url("/a"))
    assert result.status == SKIPPED and result.reason.startswith("redirected to another host")


def test_pages_over_the_size_cap_are_not_read(site):
    site.routes["/declared"] = Reply(200, b"x" * 5000)
    site.routes["/undeclared"] = Reply(200, b"y" * 500_000, {"Content-Length": OMIT})
    site.routes["/small"] = Reply(200, b"z" * 1000, {"Content-Length": OMIT})
    f, _ = fetcher(max_bytes=1000)
    assert f.fetch(site.url("/declared")).reason == "larger than the 1,000 byte cap (5,000 bytes)"
    assert f.fetch(site.url("/undeclared")).reason == "larger than the 1,000 byte cap"  # stopped reading
    assert f.fetch(site.url("/small")).body == b"z" * 1000


def test_conditional_requests_get_304(site):
    site.routes["/e"] = Reply(200, "etag body", etag='"v1"')
    site.routes["/m"] = Reply(200, "lm body", last_modified="Tue, 04 Mar 2025 10:00:00 GMT")
    f, _ = fetcher()
    first_e, first_m = f.fetch(site.url("/e")), f.fetch(site.url("/m"))
    assert first_e.validators == Validators('"v1"', None)
    assert first_m.validators == Validators(None, "Tue, 04 Mar 2025 10:00:00 GMT")
    assert f.fetch(site.url("/e"), first_e.validators).status == NOT_MODIFIED
    assert f.fetch(site.url("/m"), first_m.validators).status == NOT_MODIFIED
    assert site.seen[-1].headers["if-modified-since"] == "Tue, 04 Mar 2025 10:00:00 GMT"


def test_what_is_not_http_is_not_fetched():
    result = fetcher()[0].fetch("file:///etc/passwd")
    assert (result.status, result.reason) == (SKIPPED, "not an http(s) URL")
