"""Building the index: layout, manifest, atomic publication, crash safety, the command-line script."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from index.ingestion.builder import NothingToIndex, build_index
from index.retrieval.embedder import Embedder
from index.storage import layout
from index.storage.archive import ARCHIVE, Archive
from index.verify import load_index
from tests.conftest import ROOT, SAMPLE_ARTICLES, run_build_index


def test_manifest_and_files(sample_index_dir):
    version_dir = layout.current_version_dir(sample_index_dir)
    manifest = layout.Manifest.read(version_dir)
    assert (manifest.model, manifest.dimension, manifest.articles, manifest.sentences) == (
        "all-MiniLM-L6-v2",
        384,
        1,
        28,
    )
    assert manifest.version == version_dir.name
    assert {p.name for p in version_dir.iterdir()} == {layout.MANIFEST, layout.VECTORS, layout.LEXICAL}
    assert (sample_index_dir / ARCHIVE).is_file()
    # Every file is checksummed, so a damaged one is caught at load.
    assert set(manifest.files) == {layout.VECTORS} | {
        str(p.relative_to(version_dir)) for p in (version_dir / layout.LEXICAL).iterdir()
    }


def test_rebuild_swaps_version_and_keeps_one_previous(tmp_path, embedder):
    versions = [build_index([SAMPLE_ARTICLES], tmp_path, embedder).version for _ in range(3)]
    assert layout.current_version_dir(tmp_path).name == versions[-1]
    assert sorted(p.name for p in (tmp_path / layout.VERSIONS).iterdir()) == versions[1:]


def test_rebuilding_unchanged_articles_embeds_nothing(tmp_path, embedder):
    first = build_index([SAMPLE_ARTICLES], tmp_path, embedder)
    again = build_index([SAMPLE_ARTICLES], tmp_path, embedder)
    assert (first.embedded, first.unchanged) == (28, 0)
    assert (again.embedded, again.unchanged, again.sentences) == (0, 1, 28)


def test_a_rebuild_keeps_articles_that_are_not_in_its_files(tmp_path, embedder):
    """Articles posted over HTTP live in the archive; rebuilding from the corpus must not drop them."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "extra", "title": "Extra", "text": "A wholly different story."}) + "\n")
    build_index([SAMPLE_ARTICLES, feed], tmp_path / "index", embedder)
    build_index([SAMPLE_ARTICLES], tmp_path / "index", embedder)
    assert load_index(tmp_path / "index").manifest.articles == 2


def test_nothing_to_index_raises_with_the_reasons(tmp_path, embedder):
    bad = tmp_path / "bad.md"
    bad.write_text("no title", "utf-8")
    with pytest.raises(NothingToIndex) as info:
        build_index([bad], tmp_path / "index", embedder)
    assert [p.message for p in info.value.problems] == ["no '# Title' line found"]
    assert not (tmp_path / "index" / layout.CURRENT).exists()


class _CrashingEmbedder:
    """Wraps the real embedder but fails part-way, like a build dying mid-encode."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def encode(self, texts):
        raise MemoryError("simulated crash while embedding")


def test_a_failed_build_leaves_the_previous_version_live(tmp_path, embedder):
    good = build_index([SAMPLE_ARTICLES], tmp_path, embedder)
    corpus = tmp_path / "big.jsonl"
    _big_corpus(corpus, articles=3)
    with pytest.raises(MemoryError):
        build_index([corpus], tmp_path, _CrashingEmbedder(embedder))
    assert layout.current_version_dir(tmp_path).name == good.version
    assert load_index(tmp_path).view().size == 28
    # The abandoned build directory is cleaned up by the next build.
    build_index([SAMPLE_ARTICLES], tmp_path, embedder)
    assert not list((tmp_path / layout.VERSIONS).glob(".building-*"))


def _big_corpus(path, articles=150):
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(articles):
            body = " ".join(f"Report {i} says officials counted {j * 7 + i} drones over region {j}." for j in range(20))
            fh.write(json.dumps({"title": f"Article {i}", "url": f"https://example.test/{i}", "text": body}) + "\n")


@pytest.mark.parametrize("phase", ["embedding", "snapshot"])
def test_build_killed_with_sigkill_applies_all_or_nothing(tmp_path, embedder, phase):
    """Killed while embedding: nothing changed. Killed while writing the snapshot: the archive
    already holds every new article (one transaction) and the old snapshot serves them as a delta."""
    index_dir = tmp_path / "index"
    good = build_index([SAMPLE_ARTICLES], index_dir, embedder)
    corpus = tmp_path / "big.jsonl"
    _big_corpus(corpus)
    log = tmp_path / "build.log"
    with open(log, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "scripts/build_index.py", "--out", str(index_dir), str(corpus)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def reached() -> bool:
        if phase == "snapshot":
            return bool(list((index_dir / layout.VERSIONS).glob(".building-*")))
        return "embedding 3000 new sentences" in log.read_text()

    try:
        deadline = time.monotonic() + 120
        while not reached():
            assert proc.poll() is None, "build finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    loaded = load_index(index_dir)
    assert loaded.manifest.version == good.version
    new_articles = 150 if phase == "snapshot" else 0
    assert (loaded.view().articles, loaded.view().size) == (1 + new_articles, 28 + 20 * new_articles)


def test_script_prints_summary_and_reports_skipped_files(tmp_path, onnx_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n', "utf-8")
    done = run_build_index(tmp_path / "i", SAMPLE_ARTICLES, bad, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"skipped {bad}:1: 'text' must be a non-empty string" in done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("indexed 1 articles, 28 sentences in ")
    assert "sentences/s" in summary


def test_script_exits_non_zero_when_nothing_is_indexed(tmp_path, onnx_dir):
    bad = tmp_path / "bad.md"
    bad.write_text("no title here", "utf-8")
    done = run_build_index(tmp_path / "i", bad, timeout=300)
    assert done.returncode == 1
    assert f"skipped {bad}:1: no '# Title' line found" in done.stderr
    assert "error: no article could be indexed" in done.stderr


# --- the embedding step is pluggable (index/ingestion/ray_build.py supplies one) ---------------------


class _TextHashEmbedder(Embedder):
    """No model: a text's vector depends on the text alone, so any encoder gives the same vectors."""

    name = "text-hash"
    backend = "none"
    batch_size = 64
    dimension = 8
    max_tokens = 256

    def encode(self, texts):
        seeds = [int.from_bytes(hashlib.sha256(t.encode()).digest()[:4], "little") for t in texts]
        vectors = np.array([np.random.default_rng(s).standard_normal(8) for s in seeds], dtype=np.float32)
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).reshape(len(texts), 8)

    def token_counts(self, texts):
        return [len(t.split()) + 2 for t in texts]


def _stored(index_dir):
    archive = Archive.open(index_dir)
    return archive.live_rows(archive.generation())


def test_an_encoder_answering_in_any_order_puts_each_vector_on_its_text(tmp_path):
    embedder = _TextHashEmbedder()

    def backwards_in_threes(texts):
        for last in range(len(texts), 0, -3):
            positions = np.arange(max(0, last - 3), last)
            yield positions, embedder.encode([texts[i] for i in positions])

    moved = []
    build_index([SAMPLE_ARTICLES], tmp_path / "local", embedder)
    build_index([SAMPLE_ARTICLES], tmp_path / "other", embedder, progress=moved.append, encode=backwards_in_threes)
    local, other = _stored(tmp_path / "local"), _stored(tmp_path / "other")
    assert (other.ids.tolist(), other.texts) == (local.ids.tolist(), local.texts)
    assert np.array_equal(other.vectors, local.vectors)
    assert sum(moved) == 28 and len(moved) == 10  # the bar moves by each part


def test_an_encoder_that_leaves_a_text_out_fails_the_build_before_any_write(tmp_path):
    embedder = _TextHashEmbedder()

    def one_short(texts):
        yield np.arange(len(texts) - 1), embedder.encode(texts[:-1])

    with pytest.raises(RuntimeError, match="no vector for 1 of 28 texts"):
        build_index([SAMPLE_ARTICLES], tmp_path, embedder, encode=one_short)
    assert not (tmp_path / layout.CURRENT).exists()
    assert _stored(tmp_path).ids.size == 0


def test_a_snapshot_of_an_older_format_names_the_command_that_rewrites_it(tmp_path):
    """After an upgrade that changes the snapshot format (issue 38: BM25 on Tantivy), a worker
    is not ready and names `--snapshot`, which rewrites it from the stored vectors (no model)."""
    from index.ingestion.builder import write_snapshot
    from tests.index.storage.test_archive import prepared

    archive = Archive.open(tmp_path, create=True)
    archive.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    write_snapshot(tmp_path, archive)
    manifest_path = layout.current_version_dir(tmp_path) / layout.MANIFEST
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "format": 3}))
    with pytest.raises(layout.CorruptIndex, match=r"build_index\.py --out INDEX_DIR --snapshot"):
        load_index(tmp_path)
    run = subprocess.run(
        [sys.executable, "scripts/build_index.py", "--out", str(tmp_path), "--snapshot"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "nothing embedded" in run.stdout
    assert load_index(tmp_path).view().lexical(["drones Kyiv"], 5)[0][0][0] == 1
