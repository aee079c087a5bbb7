"""Sentence splitting: abbreviations, quotes and dashes, with exact offsets."""

from index.documents.articles import parse_article_text
from index.documents.sentences import article_sentences, split_sentences


def _split(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_abbreviations_do_not_end_sentences():
    text = "U.S. Vice President J.D. Vance pledged Friday to help. The U.S. president spoke later."
    assert _split(text) == [
        "U.S. Vice President J.D. Vance pledged Friday to help.",
        "The U.S. president spoke later.",
    ]


def test_quotes_stay_with_their_sentence():
    text = '"We are ready to move," Zelensky wrote. "Only in this case I\'m ready to meet," he said.'
    assert _split(text) == [
        '"We are ready to move," Zelensky wrote.',
        '"Only in this case I\'m ready to meet," he said.',
    ]


def test_dashes_do_not_split():
    text = 'He said "Putin is not preparing for negotiations -- he is preparing to deceive." Then he left.'
    assert _split(text)[0].endswith('to deceive."')
    assert len(_split(text)) == 2


def test_whitespace_is_trimmed_and_fragments_dropped():
    assert _split("  First sentence here.   --  ") == ["First sentence here."]


def test_every_sample_sentence_is_exactly_its_span(sample_article):
    sentences = article_sentences(sample_article)
    assert len(sentences) == 28
    for position, s in enumerate(sentences):
        assert sample_article.body[s.start : s.end] == s.text
        assert s.position == position
    assert sentences[0].text.startswith("U.S. Vice President J.D. Vance pledged Friday")


def test_headings_and_links_never_become_sentences(sample_article):
    texts = [s.text for s in article_sentences(sample_article)]
    assert "Trump's phone number" not in texts
    assert not any("Related article" in t for t in texts)


def test_sentence_repaired_across_a_paragraph_break(sample_article):
    texts = [s.text for s in article_sentences(sample_article)]
    assert (
        "Zelensky appeared to play down fears that Trump was leaving Kyiv out in the cold, saying the U.S. "
        "president had given him his personal number when they spoke." in texts
    )


def test_sentences_of_a_jsonl_style_article():
    article = parse_article_text("# T\n\nFirst one. Second one!\n\nThird, broken\n\nacross lines?")
    assert [s.text for s in article_sentences(article)] == ["First one.", "Second one!", "Third, broken across lines?"]
