"""The archive: versioned rows, atomic writes, stable ids (random vectors; no model needed)."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from index.documents.articles import article_from_record
from index.documents.sentences import article_sentences
from index.storage.archive import Archive, ArchiveError, ModelMismatch, PreparedArticle, decode_cursor
from tests.conftest import ROOT

DIM = 8


def prepared(article_id: str, text: str, published: str | None = None, dim: int = DIM) -> PreparedArticle:
    article = article_from_record({"id": article_id, "title": article_id, "text": text, "published": published})
    sentences = article_sentences(article)
    vectors = np.random.default_rng(0).random((len(sentences), dim), dtype=np.float32)
    return PreparedArticle(article, sentences, vectors)


def live_texts(archive: Archive, generation: int) -> list[str]:
    return archive.live_rows(generation).texts


@pytest.fixture
def archive(tmp_path):
    return Archive.open(tmp_path, create=True)


def test_each_write_is_a_new_generation_and_older_generations_stay_readable(archive):
    g1, [created] = archive.put_articles([prepared("a", "Kyiv was hit by 133 drones. Power failed.")], "m")
    g2, [updated] = archive.put_articles([prepared("a", "Kyiv was hit by 140 drones. Power failed.")], "m")
    g3 = archive.delete_article("a")
    assert (created.status, updated.status, g1 < g2 < g3) == ("created", "updated", True)
    assert live_texts(archive, g1) == ["Kyiv was hit by 133 drones.", "Power failed."]
    assert live_texts(archive, g2) == ["Kyiv was hit by 140 drones.", "Power failed."]
    assert live_texts(archive, g3) == []
    assert archive.get_article("a") is None
    assert archive.delete_article("a") is None


def test_reposting_the_same_content_changes_nothing(archive):
    generation, _ = archive.put_articles([prepared("a", "One sentence here.")], "m")
    again, [result] = archive.put_articles([prepared("a", "One sentence here.")], "m")
    assert (again, result.status) == (generation, "unchanged")


def test_sentence_ids_are_never_reused_so_faiss_ids_survive_deletes(archive):
    archive.put_articles([prepared("a", "First story. Second sentence.")], "m")
    first_ids = set(archive.live_rows(archive.generation()).ids)
    archive.delete_article("a")
    archive.collect_garbage(archive.generation())
    archive.put_articles([prepared("b", "Another story. Another sentence.")], "m")
    assert not first_ids & set(archive.live_rows(archive.generation()).ids)


def test_garbage_collection_keeps_rows_a_kept_version_may_still_read(archive):
    g1, _ = archive.put_articles([prepared("a", "Old text.")], "m")
    old_id = int(archive.live_rows(g1).ids[0])
    g2, _ = archive.put_articles([prepared("a", "New text.")], "m")
    archive.collect_garbage(g1)  # a version at g1 may still be serving: its rows stay
    assert old_id in archive.sentences([old_id])
    archive.collect_garbage(g2)
    assert archive.sentences([old_id]) == {}


def test_a_batch_is_all_or_nothing(archive):
    good = prepared("good", "A fine article.")
    broken = PreparedArticle(good.article, good.sentences, np.zeros((5, DIM), dtype=np.float32))  # wrong count
    with pytest.raises(ValueError, match="vectors"):
        archive.put_articles([prepared("first", "Stored first."), broken], "m")
    assert archive.generation() == 0 and archive.get_article("first") is None


def test_vectors_of_another_model_are_refused(archive):
    archive.put_articles([prepared("a", "Some text.")], "model-a")
    with pytest.raises(ModelMismatch, match="model-a"):
        archive.put_articles([prepared("b", "Other text.")], "model-b")


def test_listing_is_newest_first_in_pages_with_date_filters(archive):
    for i, day in enumerate(["2025-01-03", "2025-01-01", None, "2025-01-02", "2025-01-02"]):
        archive.put_articles([prepared(f"a{i}", f"Story number {i}.", day)], "m")
    pages, cursor = [], None
    while True:
        items, cursor = archive.list_articles(limit=2, cursor=cursor)
        pages.append([a.id for a in items])
        if cursor is None:
            break
    assert pages == [["a0", "a3"], ["a4", "a1"], ["a2"]]
    items, _ = archive.list_articles(published_after="2025-01-02", published_before="2025-01-02")
    assert [a.id for a in items] == ["a3", "a4"]
    assert decode_cursor("anything at all") == ("anything at all", "")  # a position, never an error


def test_filtered_ids_follow_dates_and_ids(archive):
    archive.put_articles(
        [prepared("jan", "In January.", "2025-01-15"), prepared("feb", "In February.", "2025-02-15")], "m"
    )
    g = archive.generation()
    rows = dict(zip(archive.live_rows(g).texts, archive.live_rows(g).ids, strict=True))
    assert list(archive.filtered_ids(g, published_after="2025-02-01")) == [rows["In February."]]
    assert list(archive.filtered_ids(g, article_ids=["jan"])) == [rows["In January."]]
    assert list(archive.filtered_ids(g, article_ids=[])) == []


def test_concurrent_writers_of_one_article_end_in_one_version_never_a_mix(tmp_path):
    Archive.open(tmp_path, create=True)
    texts = {
        "x": "Version X says 100 drones. Version X adds a second line. And a third.",
        "y": "Version Y says 200 drones. Version Y has two lines.",
    }

    def write(which: str) -> None:
        archive = Archive.open(tmp_path)  # its own connection, as another worker would have
        for _ in range(20):
            archive.put_articles([prepared("same", texts[which])], "m")
            archive.put_articles([prepared("same", texts[which] + " Edited.")], "m")

    threads = [threading.Thread(target=write, args=(w,)) for w in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    archive = Archive.open(tmp_path)
    detail = archive.get_article("same")
    live = live_texts(archive, archive.generation())
    assert detail.body in {t + suffix for t in texts.values() for suffix in ("", " Edited.")}
    assert [s.text for s in detail.sentences] == live
    assert " ".join(live) == detail.body


_SLOW_WRITER = """
import sys, numpy as np
from index.storage.archive import Archive, PreparedArticle
from index.documents.articles import article_from_record
from index.documents.sentences import article_sentences
archive = Archive.open(sys.argv[1])
items = []
for i in range(400):
    text = " ".join(f"Line {j} of {i}." for j in range(50))
    article = article_from_record({"id": f"bulk{i}", "title": "t", "text": text})
    sentences = article_sentences(article)
    items.append(PreparedArticle(article, sentences, np.ones((len(sentences), 384), dtype=np.float32)))
print("writing", flush=True)
archive.put_articles(items, "m")
print("done", flush=True)
"""


def test_kill_9_in_the_middle_of_a_write_leaves_nothing_half_applied(tmp_path):
    archive = Archive.open(tmp_path, create=True)
    archive.put_articles([prepared("kept", "This article was there before.", dim=384)], "m")
    before = archive.generation()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    wal = tmp_path / "archive.sqlite-wal"
    deadline = time.monotonic() + 30
    # 30 MB of vectors overflow SQLite's page cache, so the WAL grows while the transaction runs.
    while not (wal.exists() and wal.stat().st_size > 4_000_000):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reopened = Archive.open(tmp_path)
    reopened.check()
    assert reopened.generation() == before
    assert live_texts(reopened, reopened.generation()) == ["This article was there before."]


def test_a_damaged_archive_is_refused_with_its_path(tmp_path):
    (tmp_path / "archive.sqlite").write_bytes(b"\0" * 4096)
    with pytest.raises(ArchiveError, match=str(tmp_path / "archive.sqlite")):
        Archive.open(tmp_path)
