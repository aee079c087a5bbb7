"""Parsing the newsroom's article format into title, metadata and a repaired body."""

import pytest

from index.documents.articles import (
    EVIDENCE,
    HEADING,
    RELATED,
    ArticleError,
    article_from_record,
    parse_article_text,
    parse_date,
    repair_paragraphs,
)


def test_sample_metadata(sample_article):
    assert sample_article.title == "Vance Tells Zelensky U.S. Wants 'Lasting' Peace"
    assert sample_article.byline == "AFP"
    assert sample_article.published == "2025-02-14"
    assert sample_article.url == (
        "https://www.themoscowtimes.com/2025/02/14/vance-tells-zelensky-us-wants-lasting-peace-a88025"
    )


def test_credits_byline_date_and_url_are_not_body_text(sample_article):
    for furniture in ("TOBIAS SCHWARZ", "By ", "February 14, 2025", "Original url", "themoscowtimes"):
        assert furniture not in sample_article.body


def test_headings_and_related_links_are_kept_but_not_evidence(sample_article):
    kinds = {b.text: b.kind for b in sample_article.blocks}
    assert kinds["Trump's phone number"] == HEADING
    assert kinds["Chernobyl strike"] == HEADING  # bold markers inside the heading are removed
    related = [b for b in sample_article.blocks if b.kind == RELATED]
    assert len(related) == 1 and related[0].text.startswith("Related article: Zelensky Says Ready")
    assert all("Related article" not in b.text for b in sample_article.evidence_blocks)


def test_block_offsets_index_the_body(sample_article):
    for block in sample_article.blocks:
        assert sample_article.body[block.start : block.end] == block.text


def test_paragraphs_broken_mid_sentence_are_joined(sample_article):
    texts = [b.text for b in sample_article.evidence_blocks]
    assert any("how they could reach that goal, and they would have more talks" in t for t in texts)
    assert any("saying the U.S. president had given him his personal number" in t for t in texts)
    assert not any(t.endswith("reach that") or t.endswith("saying the") for t in texts)


def test_repair_keeps_complete_paragraphs_apart():
    assert repair_paragraphs(["One ends here.", "Two starts", "here.", '"A quote."', "Next."]) == [
        "One ends here.",
        "Two starts here.",
        '"A quote."',
        "Next.",
    ]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("February 14, 2025", "2025-02-14"),
        ("Feb 14, 2025", "2025-02-14"),
        ("14 February 2025", "2025-02-14"),
        ("2025-02-14T10:00:00Z", "2025-02-14"),
        ("Friday", None),
        ("2025-02-30", None),
    ],
)
def test_parse_date(text, iso):
    assert parse_date(text) == iso


def test_id_is_stable_and_follows_the_url(sample_article):
    again = parse_article_text(
        "# Another headline\n\nSome body text that differs.\n\nOriginal url:\n\n<" + sample_article.url + ">"
    )
    assert again.id == sample_article.id


def test_id_without_url_comes_from_content():
    a = parse_article_text("# Title\n\nBody sentence one.")
    b = parse_article_text("# Title\n\nBody sentence one.")
    c = parse_article_text("# Title\n\nBody sentence two.")
    assert a.id == b.id != c.id


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("No title here.\n\nJust text.", "no '# Title' line", 1),
        ("# Title only\n\nBy AFP\n\nFebruary 14, 2025", "no body text", None),
        ("# Title\n\nBody.\n\nOriginal url:", "not followed by a <url>", 5),
    ],
)
def test_malformed_articles_are_rejected_with_a_reason(text, message, line):
    with pytest.raises(ArticleError, match=message) as info:
        parse_article_text(text)
    assert info.value.line == line


def test_json_record():
    article = article_from_record(
        {"id": "a-1", "title": " Drones  ", "url": "https://x.test/a", "published": "2025-02-14", "text": "One.\n\nTwo"}
    )
    assert (article.id, article.title, article.published) == ("a-1", "Drones", "2025-02-14")
    assert [b.kind for b in article.blocks] == [EVIDENCE, EVIDENCE]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ([], "JSON object"),
        ({"text": "x"}, "'title'"),
        ({"title": "t", "text": "  "}, "'text'"),
        ({"title": "t", "text": "x", "published": "yesterday"}, "not a date"),
        ({"title": "t", "text": "x", "url": 5}, "'url'"),
        ({"title": "t", "text": "x", "id": ""}, "'id'"),
    ],
)
def test_invalid_json_records(record, message):
    with pytest.raises(ArticleError, match=message):
        article_from_record(record)
