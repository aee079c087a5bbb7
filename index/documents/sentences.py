"""Sentence splitting with character offsets into the article body."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nupunkt

from index.documents.articles import Article

# Fragments shorter than this many word characters ("Yes.", "--") carry no claim.
_MIN_WORD_CHARS = 3
_WORD_RE = re.compile(r"\w")


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article: `article.body[start:end] == text`."""

    article_id: str
    position: int  # 0-based index among the article's evidence sentences
    start: int
    end: int
    text: str


def split_sentences(text: str, min_word_chars: int = _MIN_WORD_CHARS) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, whitespace trimmed; fragments with fewer
    than `min_word_chars` word characters are left out (a draft keeps them all: 1).

    Punkt (via nupunkt) knows abbreviations such as `U.S.` and `J.D.` and runs at
    millions of characters per second, so it never dominates an index build.
    """
    spans: list[tuple[int, int]] = []
    for _, (start, end) in nupunkt.sent_spans_with_text(text):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if len(_WORD_RE.findall(text[start:end])) >= min_word_chars:
            spans.append((start, end))
    return spans


def article_sentences(article: Article) -> list[Sentence]:
    """The evidence sentences of an article (never headings, bylines or links)."""
    sentences: list[Sentence] = []
    for block in article.evidence_blocks:
        for start, end in split_sentences(block.text):
            sentences.append(
                Sentence(
                    article_id=article.id,
                    position=len(sentences),
                    start=block.start + start,
                    end=block.start + end,
                    text=block.text[start:end],
                )
            )
    return sentences
