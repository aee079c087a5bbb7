"""The incremental sync against a local newsroom (pages, RSS, Atom, a sitemap index, a WordPress
API) that the tests start. The embedder is a text hash: no model is loaded."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sources_testing import (
    HTML,
    LocalSite,
    Newsroom,
    Reply,
    TextHashEmbedder,
    article_page,
    page,
    rss,
    story,
    urlset,
    wp_post,
)

from index.ingestion.sources.fetcher import Fetcher, FetchPolicy
from index.ingestion.sources.sync import Sync, SyncBusy, sync_lock
from index.storage import layout
from index.storage.archive import Archive
from service.processes import ROOT


@pytest.fixture
def newsroom():
    with LocalSite() as site:
        yield Newsroom(site)


def fetcher(**policy) -> Fetcher:
    defaults = {"min_interval": 0.0, "backoff": 0.0, "timeout": 5.0, "retries": 2}
    return Fetcher(FetchPolicy(**{**defaults, **policy}), sleep=lambda seconds: None)


def sync(index_dir: Path, newsroom: Newsroom, embedder=None, since="2025-01-01", **sources):
    runner = Sync(index_dir, embedder or TextHashEmbedder(), fetcher(), since=since, batch_articles=3)
    return runner.run(**(sources or newsroom.sources()))


def articles(index_dir: Path) -> dict[str, tuple]:
    archive = Archive.open(index_dir)
    items, _ = archive.list_articles(limit=200)
    return {a.title: (a.url, a.published, a.byline) for a in items}


def snapshot_state(index_dir: Path) -> tuple:
    """Everything a sync could write: generation, CURRENT, versions, and the archive's rows."""
    archive = Archive.open(index_dir)
    conn = archive.connection
    tables = {
        t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in ("articles", "sentences", "source_state", "source_posts", "source_cursors", "changes")
    }
    versions = sorted(p.name for p in (index_dir / layout.VERSIONS).iterdir())
    return archive.generation(), (index_dir / layout.CURRENT).read_text(), versions, tables


def test_each_source_kind_becomes_articles_with_provenance_and_exact_offsets(tmp_path, newsroom):
    report = sync(tmp_path, newsroom)
    site = newsroom.site
    stored = articles(tmp_path)
    assert stored == {
        **{f"Story {n}": (site.url(f"/news/{n}"), f"2025-04-0{n % 9 + 1}", None) for n in (1, 2)},  # RSS content
        "Story 3": (site.url("/news/3"), "2025-04-04", "Ana Reporter"),  # RSS link → page
        **{f"Story {n}": (site.url(f"/news/{n}"), f"2025-04-0{n % 9 + 1}", "Ana Reporter") for n in (4, 5)},  # Atom
        "Story 6": (site.url("/news/6"), "2025-04-03", "Ana Reporter"),  # news sitemap → page; its date wins
        **{f"Post {n}": (newsroom.wp.link(n), "2025-04-01", "Ana Reporter") for n in (1, 2, 3)},  # WordPress
    }
    assert "/news/7" not in site.paths_served()  # its sitemap is older than --since
    assert (report.created, report.updated, report.deleted, report.skipped) == (9, 0, 0, [])
    assert report.snapshot == layout.current_version_dir(tmp_path).name
    archive = Archive.open(tmp_path)
    for summary in archive.list_articles(limit=200)[0]:
        detail = archive.get_article(summary.id)
        assert len(detail.sentences) == 6
        for sentence in detail.sentences:
            assert detail.body[sentence.start : sentence.end] == sentence.text
    assert "claimcheck" in site.seen[0].headers["user-agent"]


def test_a_second_sync_of_unchanged_sources_fetches_nothing_new_and_writes_nothing(tmp_path, newsroom):
    sync(tmp_path, newsroom)
    before = snapshot_state(tmp_path)
    newsroom.site.seen.clear()
    embedder = TextHashEmbedder()
    report = sync(tmp_path, newsroom, embedder)
    assert snapshot_state(tmp_path) == before  # no new generation, snapshot, or state row
    assert (report.created, report.updated, report.deleted, report.snapshot, report.fetched) == (0, 0, 0, None, 1)
    assert embedder.encoded == []
    served = {(s.path, s.status) for s in newsroom.site.seen}
    downloaded = {path for path, status in served if status == 200}
    # Feeds and sitemaps answer 304; sitemap pages with an unchanged <lastmod> are not asked;
    # WordPress: one listing (modified_after) and one published-ids check, both tiny.
    assert downloaded == {"/robots.txt", "/wp-json/wp/v2/posts"}
    assert {path for path, status in served if status == 304} >= {"/feed.rss", "/feed.atom", "/sitemap.xml"}
    listing = next(s for s in newsroom.site.seen if "modified_after" in s.query)
    assert listing.query["modified_after"] == ["2025-04-02T09:59:59"]


def test_updates_are_applied_and_only_a_trashed_post_is_deleted(tmp_path, newsroom):
    sync(tmp_path, newsroom)
    site, wp = newsroom.site, newsroom.wp
    site.routes["/news/3"] = page(site, 3, version=2)  # the page changed
    site.routes["/feed.rss"] = rss(site, [1, 3], with_content={1})  # 2 left the feed: not deleted
    wp.posts[2].status = "trash"
    wp.posts[3] = wp_post(3, modified="2025-04-05T08:00:00")
    wp.posts[3].content = wp.posts[3].content.replace("district", "borough")
    report = sync(tmp_path, newsroom)
    assert (report.created, report.updated, report.deleted, report.skipped) == (0, 2, 1, [])
    stored = articles(tmp_path)
    assert "Post 2" not in stored and "Story 2" in stored
    archive = Archive.open(tmp_path)
    bodies = {a.title: archive.get_article(a.id).body for a in archive.list_articles(limit=200)[0]}
    assert "borough" in bodies["Post 3"] and str(101 + 100 + 2) in bodies["Story 3"]
    assert report.snapshot is not None
    again = sync(tmp_path, newsroom)
    assert (again.created, again.updated, again.deleted, again.snapshot) == (0, 0, 0, None)


def test_a_teaser_in_content_encoded_sends_the_sync_to_the_page(tmp_path, newsroom):
    site = newsroom.site
    feed = rss(site, [6], with_content={6})
    feed.body = feed.body.replace("".join(f"<p>{p}</p>" for p in story(6)), "<p>Read the full story.</p>")
    site.routes["/teaser.rss"] = feed
    report = sync(tmp_path, newsroom, feed_urls=[site.url("/teaser.rss")])
    assert report.created == 1 and "/news/6" in site.paths_served(200)
    assert articles(tmp_path)["Story 6"][2] == "Ana Reporter"  # the page's byline: read from the page


def test_a_wordpress_post_whose_link_changed_replaces_its_old_article(tmp_path, newsroom):
    sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    link = newsroom.wp.link
    newsroom.wp.link = lambda post_id: newsroom.site.url("/renamed/1/") if post_id == 1 else link(post_id)
    newsroom.wp.posts[1].modified = "2025-04-06T00:00:00"
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert (report.created, report.deleted) == (1, 1)
    assert articles(tmp_path)["Post 1"][0] == newsroom.site.url("/renamed/1/")


def test_wordpress_is_paged_and_asked_by_modification_date(tmp_path, newsroom):
    newsroom.wp.posts = {n: wp_post(n, modified=f"2025-04-02T10:{n // 60:02d}:{n % 60:02d}") for n in range(1, 131)}
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert report.created == 130
    listings = [s.query for s in newsroom.site.seen if s.path == "/wp-json/wp/v2/posts" and "page" in s.query]
    assert [(q["page"], q["per_page"], q["orderby"], q["order"]) for q in listings] == [
        (["1"], ["100"], ["modified"], ["asc"]),
        (["2"], ["100"], ["modified"], ["asc"]),
    ]
    newsroom.wp.posts[131] = wp_post(131, modified="2025-04-09T00:00:00")
    newsroom.site.seen.clear()
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert (report.created, report.not_modified) == (1, 1)  # the newest known post is listed again, unchanged
    assert [s.query["modified_after"] for s in newsroom.site.seen if "modified_after" in s.query] == [
        ["2025-04-02T10:02:09"]
    ]


@pytest.mark.parametrize("paging", ["x-wp", "link", "none"])
def test_a_site_that_caps_per_page_below_what_is_asked_loses_no_post(tmp_path, newsroom, paging):
    """Sites can lower the REST API's `per_page` maximum: a short page is not the last one."""
    newsroom.wp.posts = {n: wp_post(n, modified=f"2025-04-02T10:00:{n:02d}") for n in range(1, 8)}
    newsroom.wp.max_per_page, newsroom.wp.paging = 2, paging
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert report.created == 7 and not report.skipped, report.summary()
    assert {f"Post {n}" for n in range(1, 8)} <= set(articles(tmp_path))
    # The deletion check is paged the same way: all 7 still published, none deleted.
    newsroom.wp.posts[3].status = "trash"
    newsroom.wp.posts[8] = wp_post(8, modified="2025-04-09T00:00:00")
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert (report.created, report.deleted) == (1, 1), report.summary()
    titles = set(articles(tmp_path))
    assert "Post 3" not in titles and {f"Post {n}" for n in (1, 2, 4, 5, 6, 7, 8)} <= titles


def test_a_site_that_ignores_the_page_parameter_is_not_read_forever(tmp_path, newsroom):
    newsroom.wp.posts = {n: wp_post(n, modified=f"2025-04-02T10:00:{n:02d}") for n in range(1, 4)}
    newsroom.wp.paging = "none"
    listing = newsroom.wp.listing
    newsroom.site.routes["/wp-json/wp/v2/posts"] = lambda request: listing(
        replace(request, query={**request.query, "page": ["1"]})
    )
    report = sync(tmp_path, newsroom, wordpress_sites=[newsroom.site.base])
    assert report.created == 3
    assert any("repeats posts already listed" in reason for _, reason in report.skipped), report.summary()


def test_every_kind_of_bad_input_is_reported_per_item_and_skipped(tmp_path, newsroom):
    site = newsroom.site
    bad = {
        "/bad/broken": Reply(200, "<html><body><div><p>Half a tag <b", HTML),
        "/bad/empty": Reply(200, "", HTML),
        "/bad/paywalled": Reply(200, article_page("Locked", story(9, 2), paywalled=True), HTML),
        "/bad/huge": Reply(200, article_page("Huge", story(10, 6000)), HTML),
        "/bad/elsewhere": Reply(302, "", {"Location": site.other_host_base + "/news/1"}),
        "/bad/loop": Reply(301, "", {"Location": "/bad/loop2"}),
        "/bad/loop2": Reply(301, "", {"Location": "/bad/loop"}),
        "/bad/error": Reply(500, "oops"),
        "/bad/slow": Reply(200, article_page("Slow", story(11)), HTML, delay=1.5),
        "/bad/binary": Reply(200, bytes(range(256)) * 10, {"Content-Type": "text/html"}),
        "/private/x": Reply(200, article_page("Private", story(12)), HTML),
    }
    site.routes.update(bad)
    bad["/bad/latin"] = Reply(200, article_page("Café", story(13)).encode("cp1252"), HTML)  # labelled UTF-8
    site.routes.update(bad)
    answers = iter([Reply(429, "", {"Retry-After": "3"}), page(site, 8)])
    site.routes["/bad/busy"] = lambda request: next(answers)
    site.routes["/sitemap-bad.xml"] = urlset(site, [(p, None) for p in [*bad, "/bad/busy"]])
    site.routes["/broken-feed.xml"] = Reply(200, "<rss><channel><item><title>x</ti", {"Content-Type": "text/xml"})
    site.routes["/broken-sitemap.xml"] = Reply(200, "<urlset><url><loc>x", {"Content-Type": "text/xml"})
    site.routes["/wp-json/wp/v2/posts"] = Reply(200, "<html>a PHP warning</html>", HTML)
    runner = Sync(tmp_path, TextHashEmbedder(), fetcher(timeout=0.5, max_bytes=200_000, retries=1), batch_articles=2)
    report = runner.run(
        feed_urls=[site.url("/broken-feed.xml")],
        sitemap_urls=[site.url("/sitemap-bad.xml"), site.url("/broken-sitemap.xml")],
        wordpress_sites=[site.base],
    )
    reasons = {item.replace(site.base, ""): reason for item, reason in report.skipped}
    wordpress_listing = [k for k in reasons if k.startswith("/wp-json")]
    assert len(wordpress_listing) == 1
    expected = set(bad) | {"/broken-feed.xml", "/broken-sitemap.xml", *wordpress_listing}
    assert set(reasons) == expected
    assert reasons["/bad/broken"].startswith("too little text")
    assert reasons["/bad/empty"] == "empty page"
    assert reasons["/bad/paywalled"].startswith("paywalled")
    assert reasons["/bad/huge"].startswith("larger than the 200,000 byte cap")
    assert reasons["/bad/elsewhere"].startswith("redirected to another host")
    assert reasons["/bad/loop"] == "redirect loop"
    assert reasons["/bad/error"] == "HTTP 500 after 2 attempts"
    assert reasons["/bad/slow"].startswith("no answer within")
    assert reasons["/bad/binary"].startswith(("too little text", "cannot decode"))
    assert reasons["/private/x"] == "disallowed by robots.txt"
    assert reasons["/broken-feed.xml"].startswith("malformed feed, 0 entries read")
    assert reasons["/broken-sitemap.xml"].startswith("malformed XML")
    assert reasons[wordpress_listing[0]].startswith("not JSON")
    assert reasons["/bad/latin"].startswith("not valid utf-8 as declared")
    assert set(articles(tmp_path)) == {"Story 8"}  # the 429 was waited out


def test_one_sync_at_a_time_per_index(tmp_path, newsroom):
    with sync_lock(tmp_path), pytest.raises(SyncBusy, match="another sync is running"):
        sync(tmp_path, newsroom)
    sync(tmp_path, newsroom)  # free again


_KILLABLE = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from sources_testing import TextHashEmbedder
from index.ingestion.sources.fetcher import Fetcher, FetchPolicy
from index.ingestion.sources.sync import Sync
policy = FetchPolicy(min_interval=0.0, timeout=60.0, per_host_concurrency=1)
Sync({index!r}, TextHashEmbedder(), Fetcher(policy), batch_articles=2, workers=1).run(sitemap_urls=[{sitemap!r}])
"""


def _articles_committed(index_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{index_dir / 'archive.sqlite'}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_a_sync_killed_midway_leaves_the_archive_whole_and_the_next_completes_it(tmp_path, newsroom):
    site = newsroom.site
    paths = ["/news/1", "/news/2", "/news/3", "/hang", "/news/4", "/news/5", "/news/6"]
    site.routes["/hang"] = Reply(200, article_page("Hang", story(14)), HTML, delay=30)
    site.routes["/all.xml"] = urlset(site, [(p, None) for p in paths])
    code = _KILLABLE.format(
        root=str(ROOT), tests=str(Path(__file__).parent), index=str(tmp_path), sitemap=site.url("/all.xml")
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        # Pages are read one at a time, in order: the first two are one committed batch, the
        # third waits for the next batch, and /hang never answers.
        while "/hang" not in site.asked or _articles_committed(tmp_path) < 2:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    archive = Archive.open(tmp_path)
    archive.check()
    conn = archive.connection
    stored = dict(conn.execute("SELECT id, sentences FROM articles"))
    live = dict(conn.execute("SELECT article_id, count(*) FROM sentences WHERE retired IS NULL GROUP BY article_id"))
    assert stored == live and len(stored) == 2  # whole articles only, and the third not half-written
    states = conn.execute("SELECT article_id FROM source_state WHERE outcome = 'article'").fetchall()
    assert {a for (a,) in states} == set(stored)  # an article and where it came from: together or not at all
    assert not (tmp_path / layout.CURRENT).exists()  # the run never got to its snapshot
    written = len(stored)
    site.routes["/hang"] = Reply(200, article_page("Hang", story(14)), HTML)
    site.seen.clear()
    report = sync(tmp_path, newsroom, sitemap_urls=[site.url("/all.xml")])
    assert (report.created, report.updated) == (7 - written, 0)
    # Downloaded again: robots.txt, the sitemap, and the pages not written; the rest answer 304.
    assert len(site.paths_served(200)) == 2 + 7 - written
    assert report.snapshot is not None and len(articles(tmp_path)) == 7


def test_state_lives_in_the_archive(tmp_path, newsroom):
    sync(tmp_path, newsroom)
    with sqlite3.connect(tmp_path / "archive.sqlite") as conn:
        rows = conn.execute("SELECT url, etag, outcome FROM source_state WHERE url LIKE '%/news/3'").fetchall()
        cursor = conn.execute("SELECT value FROM source_cursors").fetchall()
    assert rows == [(newsroom.site.url("/news/3"), '"p3-v1"', "article")]
    assert cursor == [("2025-04-02T10:00:00",)]
    assert json.dumps(rows)  # plain values
