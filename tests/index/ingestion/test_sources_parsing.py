"""HTML extraction, feeds, sitemaps and WordPress records: pure parsing, no network, no model."""

from __future__ import annotations

import gzip
import json

import pytest
from sources_testing import article_page, story

from index.documents.sentences import article_sentences
from index.ingestion.ingest import read_articles
from index.ingestion.sources import feeds, sitemaps, wordpress
from index.ingestion.sources.extract import ExtractionError, Metadata, article_from_html, decode_html

# --- HTML → Article -----------------------------------------------------------------------


def test_a_page_gives_its_story_and_metadata_without_the_page_around_it():
    html = article_page("Council approves budget", story(1), canonical="https://news.test/council-budget")
    article = article_from_html(html, url="https://news.test/council-budget?utm=feed")
    assert article.title == "Council approves budget"  # not "… | The Daily Test"
    assert (article.url, article.published, article.byline) == (
        "https://news.test/council-budget",
        "2025-03-04",
        "Ana Reporter",
    )
    assert article.body.split("\n\n") == story(1)
    for boilerplate in ("Subscribe", "ADVERTISEMENT", "Photo: Test Agency", "Related articles", "Privacy", "By Ana"):
        assert boilerplate not in article.body


def test_offsets_are_exact_against_the_stored_body():
    article = article_from_html(article_page("Council approves budget", story(2, sentences=12)), url="https://x.test/a")
    sentences = article_sentences(article)
    assert len(sentences) == 12
    for block in article.blocks:
        assert article.body[block.start : block.end] == block.text
    for sentence in sentences:
        assert article.body[sentence.start : sentence.end] == sentence.text


def test_the_source_s_metadata_wins_over_the_page_s():
    given = Metadata(url="https://news.test/x", title="From the feed", published="Tue, 04 Mar 2025 10:00:00 GMT")
    article = article_from_html(article_page("From the page", story(3)), url="https://other.test/x", metadata=given)
    assert (article.title, article.url, article.published) == ("From the feed", "https://news.test/x", "2025-03-04")


def test_a_fragment_goes_through_the_same_extractor():
    fragment = "".join(f"<p>{p}</p>" for p in story(4)) + "<h2>What next</h2><ul><li>One item of the list.</li></ul>"
    article = article_from_html(fragment, url="https://news.test/f", metadata=Metadata(title="T"), fragment=True)
    assert article.body.split("\n\n")[:3] == story(4)
    assert [b.kind for b in article.blocks][-2:] == ["heading", "paragraph"]


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("", "empty page"),
        ("<html><body><nav>Home</nav></body></html>", "too little text"),
        ("<html><body><p>Short.</p></body>", "too little text"),
        (article_page("Locked", story(5, 2), paywalled=True), "paywalled"),
        ("<html><head><title>x</title></head><body><div><p>unclosed <b>tags <i>" + "x" * 50, "too little text"),
    ],
)
def test_pages_without_an_article_say_why(page, reason):
    with pytest.raises(ExtractionError, match=reason):
        article_from_html(page, url="https://news.test/p")


def test_a_paywall_marker_with_the_full_text_served_is_kept():
    article = article_from_html(article_page("Full", story(6, 18), paywalled=True), url="https://news.test/p")
    assert len(article_sentences(article)) == 18


def test_a_page_is_read_in_its_declared_charset_and_skipped_when_it_is_not_in_it():
    html = article_page("Café budget", [p.replace("euros", "€ — café") for p in story(7)], charset="windows-1252")
    assert "€ — café" in article_from_html(html.encode("cp1252"), url="https://n.test/1").body  # <meta charset>
    assert "€ — café" in decode_html(html.encode("cp1252"), declared="cp1252")  # the HTTP header's
    undeclared = html.replace('<meta charset="windows-1252">', "")
    assert "€ — café" in decode_html(undeclared.encode("utf-8"))
    with pytest.raises(ExtractionError, match=r"not valid utf-8 as declared \(byte \d+\)"):
        article_from_html(html.encode("cp1252"), url="https://n.test/2", charset="utf-8")  # header says UTF-8


def test_html_files_and_folders_are_read_with_the_other_formats(tmp_path):
    (tmp_path / "story.html").write_text(article_page("A saved page", story(8)), "utf-8")
    (tmp_path / "broken.htm").write_bytes(b"\x00\x01<html><p>x")
    (tmp_path / "notes.txt").write_text("# A text article\n\nThe council met on Monday and voted on the plan.\n")
    result = read_articles([tmp_path])
    assert sorted(a.title for a in result.articles) == ["A saved page", "A text article"]
    assert [(p.path.endswith("broken.htm"), "too little text" in p.message) for p in result.problems] == [(True, True)]


# --- feeds ---------------------------------------------------------------------------------

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>The Daily Test</title><link>https://news.test/</link>
<item><title>With full text</title><link>https://news.test/full</link><pubDate>Tue, 04 Mar 2025 10:00:00 GMT</pubDate>
<dc:creator>Ana Reporter</dc:creator><description>A teaser.</description>
<content:encoded><![CDATA[<p>The council approved the plan.</p><p>It costs 4 million euros.</p>]]>
</content:encoded></item>
<item><title>Only a teaser</title><link>https://news.test/teaser</link><description>Read more…</description></item>
<item><title>No link</title></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Test</title><id>urn:x</id><updated>2025-03-05T00:00:00Z</updated>
<entry><title>Atom entry</title><link href="https://news.test/atom-1"/><id>urn:1</id>
<updated>2025-03-05T09:00:00Z</updated><author><name>Bo Writer</name></author>
<content type="html">&lt;p&gt;Full text in Atom.&lt;/p&gt;</content></entry>
<entry><title>Summary only</title><link href="https://news.test/atom-2"/><id>urn:2</id>
<updated>2025-03-06T09:00:00Z</updated><summary>Short.</summary></entry>
</feed>"""


def test_rss_items_carry_content_encoded_when_present():
    items, problem = feeds.parse_feed(RSS.encode(), "https://news.test/feed")
    assert problem is None
    assert [(i.url, i.title, i.published, i.byline) for i in items] == [
        ("https://news.test/full", "With full text", "2025-03-04", "Ana Reporter"),
        ("https://news.test/teaser", "Only a teaser", None, None),
    ]
    assert "4 million euros" in items[0].content_html
    assert items[1].content_html is None  # a description is a teaser: the page is read instead


def test_atom_entries_carry_their_content():
    items, _ = feeds.parse_feed(ATOM.encode(), "https://news.test/atom")
    assert [(i.url, i.published, i.byline, bool(i.content_html)) for i in items] == [
        ("https://news.test/atom-1", "2025-03-05", "Bo Writer", True),
        ("https://news.test/atom-2", "2025-03-06", None, False),
    ]


@pytest.mark.parametrize("data", [b"", b"<html><body>not a feed</body></html>", b"\x89PNG\r\n", b'{"a": 1}'])
def test_what_is_not_a_feed_says_so(data):
    with pytest.raises(feeds.FeedError, match="not an RSS or Atom feed"):
        feeds.parse_feed(data, "https://news.test/feed")


def test_a_truncated_feed_keeps_the_entries_it_has_and_says_what_was_wrong():
    items, problem = feeds.parse_feed(RSS.encode()[: RSS.index("<item><title>Only")], "https://news.test/feed")
    assert [i.url for i in items] == ["https://news.test/full"]
    assert problem.startswith("malformed feed, 1 entries read")


# --- sitemaps ------------------------------------------------------------------------------

INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.test/sitemap-2025-03.xml</loc><lastmod>2025-03-31T10:00:00+00:00</lastmod></sitemap>
<sitemap><loc>https://news.test/sitemap-2024.xml.gz</loc></sitemap>
</sitemapindex>"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.test/a</loc><lastmod>2025-03-04</lastmod>
<news:news><news:publication><news:name>Test</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2025-03-03T08:00:00Z</news:publication_date>
<news:title>Budget passes</news:title></news:news></url>
<url><loc> https://news.test/b </loc></url>
<url><lastmod>2025-01-01</lastmod></url>
</urlset>"""


def test_a_sitemap_index_lists_its_sitemaps():
    parsed = sitemaps.parse_sitemap(INDEX.encode())
    assert parsed.is_index
    assert [(e.url, e.lastmod) for e in parsed.entries] == [
        ("https://news.test/sitemap-2025-03.xml", "2025-03-31"),
        ("https://news.test/sitemap-2024.xml.gz", None),
    ]


def test_a_news_sitemap_gives_dates_and_titles_and_gzip_is_read():
    parsed = sitemaps.parse_sitemap(gzip.compress(NEWS.encode()))
    assert not parsed.is_index
    assert parsed.entries == [
        sitemaps.SitemapEntry("https://news.test/a", "2025-03-04", "2025-03-03", "Budget passes"),
        sitemaps.SitemapEntry("https://news.test/b"),
    ]


XXE = """<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://n.test/&x;</loc></url></urlset>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<urlset><url><loc>https://n.test/a</loc></url>", "malformed XML"),
        (b"<html><body/></html>", "not a sitemap"),
        (b"\x1f\x8bnot gzip", "broken gzip"),
        (b"", "malformed XML"),
    ],
)
def test_what_is_not_a_sitemap_says_so(data, reason):
    with pytest.raises(sitemaps.SitemapError, match=reason):
        sitemaps.parse_sitemap(data)


def test_external_entities_are_never_resolved():
    parsed = sitemaps.parse_sitemap(XXE.encode())
    assert all("root:" not in e.url for e in parsed.entries)


# --- WordPress -----------------------------------------------------------------------------


def _record(**changes):
    record = {
        "id": 7,
        "link": "https://news.test/7/story/",
        "title": {"rendered": "Budget &#8220;passes&#8221; <em>today</em>"},
        "content": {"rendered": "<p>Text.</p>"},
        "date_gmt": "2025-03-04T10:00:00",
        "modified": "2025-03-05T11:00:00",
        "status": "publish",
        "_embedded": {"author": [{"name": "Ana Reporter"}]},
    }
    record.update(changes)
    return record


def test_posts_are_read_with_title_dates_and_author():
    posts, problems = wordpress.parse_posts(json.dumps([_record()]).encode())
    assert problems == []
    assert posts == [
        wordpress.Post(
            7, "https://news.test/7/story/", "Budget “passes” today", "<p>Text.</p>", "2025-03-04",
            "2025-03-05T11:00:00", "Ana Reporter",
        )
    ]  # fmt: skip


def test_records_that_are_not_posts_are_reported_one_by_one():
    records = [_record(), _record(id=8, content=None), "junk", _record(id=9, status="draft")]
    posts, problems = wordpress.parse_posts(json.dumps(records).encode())
    assert [p.id for p in posts] == [7]
    assert [p.split(":")[0] for p in problems] == ["post 8", "post #2", "post 9"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"<html>", "not JSON"), (b'{"code": "rest_no_route", "message": "No route"}', "No route"), (b"\xff", "not JSON")],
)
def test_a_listing_that_is_not_the_api_s_says_so(data, reason):
    with pytest.raises(wordpress.WordPressError, match=reason):
        wordpress.parse_posts(data)


def test_the_listing_asks_by_modification_date_oldest_first():
    url = wordpress.posts_url("https://news.test/", 2, "2025-03-05T11:00:00")
    assert url.startswith("https://news.test/wp-json/wp/v2/posts?per_page=100&page=2&orderby=modified&order=asc")
    assert "modified_after=2025-03-05T11%3A00%3A00" in url
