"""Extraction quality on real news pages, offline: the test pages newspaper4k ships in its sdist
(fetched once from the package registry by benchmarks/extraction_quality.py, hash-pinned, into
var/bench/), scored against their reference texts. BENCHMARKS.md has the full table."""

from __future__ import annotations

import sys

import pytest

from service.processes import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import extraction_quality as quality


@pytest.fixture(scope="module")
def pages():
    directory = quality.pages_dir()
    if directory is None:
        pytest.skip(f"the {quality.SDIST} sdist (its test pages) could not be downloaded")
    return quality.load_pages(directory)


def test_trafilatura_keeps_the_story_and_little_else(pages):
    scores = quality.score(pages)["trafilatura 2.3.1 (served)"]
    assert len(pages) >= 20
    assert scores["empty"] == 0
    assert scores["recall"] >= 0.95 and scores["precision"] >= 0.85
    assert min(p["f1"] for p in scores["pages"].values()) >= 0.5


def test_the_page_s_date_is_read(pages):
    found, total = quality.metadata_agreement(pages)["date"]
    assert total >= 10 and found >= 0.9 * total


def test_the_scores_are_bag_of_words_precision_and_recall():
    assert quality.precision_recall("a b c d", "a b x") == (0.5, 2 / 3)
    assert quality.precision_recall("東京都", "東京") == (2 / 3, 1.0)  # characters where words have no spaces
