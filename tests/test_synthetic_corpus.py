"""The benchmark corpus generator: deterministic, and read by our own parser and splitter as intended."""

import hashlib
import importlib.util
import json

import pytest

from index.documents.sentences import article_sentences
from index.ingestion.ingest import read_articles
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def corpus():
    # Loaded by path: pysbd (test lock) installs a top-level package named `benchmarks`.
    spec = importlib.util.spec_from_file_location("synthetic_corpus", ROOT / "benchmarks" / "synthetic_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes(corpus, tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    corpus.write_jsonl(a, corpus.generate(seed=3, sentences=1500))
    corpus.write_jsonl(b, corpus.generate(seed=3, sentences=1500))
    corpus.write_jsonl(c, corpus.generate(seed=4, sentences=1500))
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_command_line_writes_the_same_bytes(corpus, tmp_path):
    out = tmp_path / "cli.jsonl"
    assert corpus.main(["--articles", "5", "--seed", "9", "-o", str(out)]) == 0
    direct = tmp_path / "direct.jsonl"
    corpus.write_jsonl(direct, corpus.generate(seed=9, articles=5))
    assert _digest(out) == _digest(direct)
    assert len(out.read_text("utf-8").splitlines()) == 5


@pytest.mark.parametrize(("target", "seed"), [(300, 0), (2000, 1), (5000, 2)])
def test_parser_and_splitter_find_the_target_sentence_count(corpus, tmp_path, target, seed):
    path = tmp_path / "corpus.jsonl"
    corpus.write_jsonl(path, corpus.generate(seed=seed, sentences=target))
    result = read_articles([path])
    assert result.problems == []
    assert result.duplicates == 0
    sentences = [s for article in result.articles for s in article_sentences(article)]
    assert abs(len(sentences) - target) <= 0.05 * target
    texts = [s.text for s in sentences]
    assert len(set(texts)) == len(texts), "every sentence is unique, so a build embeds each once"
    words = sorted(len(t.split()) for t in texts)
    assert words[len(words) // 100] >= 8 and words[-len(words) // 100] <= 40  # 8-40 words, allowing for outliers
    assert 15 <= words[len(words) // 2] <= 30


def test_records_are_in_the_input_format(corpus):
    records = list(corpus.generate(seed=5, articles=20))
    assert len(records) == 20
    for record in records:
        assert list(record) == ["id", "title", "url", "published", "text"]
        assert "\n\n" in record["text"]  # paragraphs
    text = " ".join(r["text"] for r in records)
    assert '"' in text  # quotes
    assert "percent" in text and any(sym in text for sym in "$€£")  # figures and money
    assert any(day in text for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
    assert json.loads(json.dumps(records[0])) == records[0]


def test_claims_are_never_verbatim(corpus):
    sentences = [s for _, body in corpus._articles(6, None, 500) for s in body]
    claims = corpus.make_claims(sentences, 200, seed=1)
    assert len(claims) == 200
    assert not set(claims) & set(sentences)
    assert claims == corpus.make_claims(sentences, 200, seed=1)
