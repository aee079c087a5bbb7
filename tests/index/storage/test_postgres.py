"""The shared archive against a real PostgreSQL: hosts' replicas following its log, conflicts,
outages and secrets (random vectors; no model needed)."""

from __future__ import annotations

import threading
import time

import numpy as np
import psycopg
import pytest

from index.storage.archive import Archive, ModelMismatch, WriteConflict
from index.storage.postgres import (
    SCHEMA_VERSION,
    ArchiveUnavailable,
    LogFollower,
    PostgresArchive,
    ReplicaMismatch,
    SchemaMismatch,
    compare_with_sqlite,
    copy_from_sqlite,
    redact,
)
from tests.index.storage.test_archive import prepared


def host(tmp_path, name: str, url: str, **options) -> Archive:
    """One host's replica of the shared archive at `url`."""
    return Archive.open(tmp_path / name, create=True, primary=PostgresArchive(url, **options))


def state(archive: Archive) -> tuple:
    """What a host would index: generation, live ids, texts and vectors, live articles."""
    g = archive.generation()
    rows = archive.live_rows(g)
    return g, rows.ids.tolist(), rows.texts, rows.vectors.tobytes(), archive.live_articles()


def test_a_write_on_one_host_reaches_another_with_the_same_ids_and_vectors(tmp_path, archive_url):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url)
    g1, [created] = a.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    assert created.status == "created" and a.generation() == g1  # the writer sees its own write at once
    a.put_articles([prepared("y", "Odesa was hit overnight. Ports were closed.")], "m")
    a.put_articles([prepared("x", "Kyiv was hit by 140 drones. Power failed.")], "m")  # replaces x
    a.delete_article("y")
    b.follow()
    assert state(b) == state(a)
    assert state(b)[2] == ["Kyiv was hit by 140 drones.", "Power failed."]
    assert b.model() == ("m", 8)
    # The replica answers as a one-machine archive does: history by generation, provenance.
    assert b.live_rows(g1).texts == ["Kyiv was hit by 133 drones.", "Power failed."]
    sid = state(b)[1][0]
    assert b.sentences([sid])[sid].article.id == "x"


def test_a_host_that_was_away_catches_up_from_the_log(tmp_path, archive_url):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url)
    a.put_articles([prepared("x", "First version here. It has two sentences.")], "m")
    b.follow()
    for i in range(5):  # b is away meanwhile
        a.put_articles([prepared(f"n{i}", f"Story number {i} was written. It was long.")], "m")
    a.delete_article("n2")
    result = b.follow()
    assert (result.before, result.after) == (1, a.generation())
    assert state(b) == state(a)
    assert b.follow().rows == 0  # nothing new: nothing copied


def test_model_and_schema_are_checked_on_the_shared_archive(tmp_path, archive_url, postgres_server):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url)
    a.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    with pytest.raises(ModelMismatch, match="holds vectors of m"):
        b.put_articles([prepared("z", "Another model wrote this. It should fail.", dim=4)], "other")
    b.check_model("m", 8)
    fresh = PostgresArchive(postgres_server.create_database("unmigrated_" + str(time.time_ns())))
    with pytest.raises(SchemaMismatch, match=r"schema version 0, this release needs .*archive_schema.py --upgrade"):
        fresh.check_schema()
    assert fresh.migrate() == [SCHEMA_VERSION] and fresh.migrate() == []
    fresh.check_schema()
    with fresh.connection() as conn:
        conn.execute("INSERT INTO claimcheck_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(SchemaMismatch, match="newer than this release"):
        fresh.check_schema()


def test_two_writers_of_one_article_one_wins_the_other_is_refused(tmp_path, archive_url):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url)
    a.put_articles([prepared("x", "The first text of it. Two sentences.")], "m")
    # Both hosts read the article, then both write it: the second to commit is refused.
    seen_a, seen_b = a.article_versions(["x"]), b.article_versions(["x"])
    assert seen_a == seen_b
    a.put_articles([prepared("x", "Host A's text of it. Two sentences.")], "m", expected=seen_a)
    with pytest.raises(WriteConflict, match="changed while this write was prepared"):
        b.put_articles([prepared("x", "Host B's text of it. Two sentences.")], "m", expected=seen_b)
    b.follow()
    assert b.live_rows(b.generation()).texts == ["Host A's text of it.", "Two sentences."]
    # Re-sending what is stored is no conflict; a new article expected absent is none either.
    b.put_articles([prepared("x", "Host A's text of it. Two sentences.")], "m", expected=seen_b)
    b.put_articles([prepared("new", "A new one. It is fine.")], "m", expected=b.article_versions(["new"]))


def test_concurrent_writes_from_many_threads_commit_in_generation_order(tmp_path, archive_url):
    hosts = [host(tmp_path, f"h{i}", archive_url) for i in range(3)]
    errors = []

    def write(h: Archive, i: int) -> None:
        try:
            for j in range(6):
                h.put_articles([prepared(f"t{i}-{j}", f"Thread {i} wrote story {j}. It is here.")], "m")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(hosts[i % 3], i)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for h in hosts:
        h.follow()
    assert state(hosts[0]) == state(hosts[1]) == state(hosts[2])
    assert state(hosts[0])[0] == 36 and state(hosts[0])[4] == 36


def test_the_follower_applies_a_write_within_two_seconds(tmp_path, archive_url):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url, poll_seconds=30)
    pulled = []
    follower = LogFollower(b.primary, b.follow, pulled.append).start()
    try:
        deadline = time.monotonic() + 10
        while not follower.listening and time.monotonic() < deadline:
            time.sleep(0.02)
        written = time.monotonic()
        generation, _ = a.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
        while b.generation() < generation and time.monotonic() < written + 5:
            time.sleep(0.01)
        delay = time.monotonic() - written
        assert b.generation() == generation
        assert delay < 2.0, f"applied after {delay:.2f}s (poll every 30 s: NOTIFY did not wake it)"
        assert pulled and pulled[-1].after == generation
    finally:
        follower.stop()


def test_a_replica_of_another_archive_or_ahead_of_it_is_refused(tmp_path, archive_url, postgres_server):
    a = host(tmp_path, "a", archive_url)
    a.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    other_url = postgres_server.create_database("other_" + str(time.time_ns()))
    PostgresArchive(other_url).migrate()
    moved = Archive.open(tmp_path / "a", primary=PostgresArchive(other_url))
    with pytest.raises(ReplicaMismatch, match="another archive"):
        moved.follow()
    with psycopg.connect(archive_url, autocommit=True) as conn:  # a standby promoted without the last write,
        conn.execute("UPDATE changes SET at = 'another history'")  # then written to: the same generation, diverged
    with pytest.raises(ReplicaMismatch, match="disagree on generation 1"):
        a.follow()
    with psycopg.connect(archive_url, autocommit=True) as conn:  # the same standby, not yet written to
        conn.execute("DELETE FROM changes")
    with pytest.raises(ReplicaMismatch, match="ahead of"):
        a.follow()


def test_an_unreachable_archive_refuses_writes_and_never_shows_the_password(tmp_path, postgres_server):
    secret = postgres_server.password
    url = postgres_server.url().replace("127.0.0.1", "127.0.0.1").rsplit(":", 1)[0]  # …@127.0.0.1
    url = f"{url}:1/claimcheck"  # nothing listens on port 1
    assert secret in url and secret not in redact(url)
    assert redact(url) == "postgresql://claimcheck@127.0.0.1:1/claimcheck"
    down = Archive.open(tmp_path / "d", create=True, primary=PostgresArchive(url, pool_wait_seconds=1))
    with pytest.raises(ArchiveUnavailable) as caught:
        down.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    assert secret not in str(caught.value) and "127.0.0.1:1" in str(caught.value)
    wrong = postgres_server.url().replace(secret, "not-the-password")
    with pytest.raises(ArchiveUnavailable, match="password authentication failed") as caught:
        PostgresArchive(wrong, pool_wait_seconds=1).check_schema()
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(ValueError, match="not a PostgreSQL connection string") as caught:
        PostgresArchive(f"postgresql://claimcheck:{secret}@127.0.0.1:5432/db?bogus_option=1")
    assert secret not in str(caught.value)


def test_a_sqlite_archive_moves_into_postgres_resumably_and_verified(tmp_path, archive_url):
    source = Archive.open(tmp_path / "one-machine", create=True)
    for i in range(30):
        source.put_articles([prepared(f"s{i}", f"Story {i} happened today. Officials said {i} things.")], "m")
    source.delete_article("s3")
    import index.storage.postgres as postgres

    primary = PostgresArchive(archive_url)
    postgres.MOVE_BATCH_ROWS, saved = 7, postgres.MOVE_BATCH_ROWS
    try:
        stop = {"batches": 0}

        def interrupt(table: str, rows: int) -> None:
            stop["batches"] += 1
            if stop["batches"] == 3:
                raise KeyboardInterrupt  # stopped mid-copy

        with pytest.raises(KeyboardInterrupt):
            copy_from_sqlite(source.connection, primary, "src", interrupt)
        assert not all(c.ok for c in compare_with_sqlite(source.connection, primary))
        copy_from_sqlite(source.connection, primary, "src")  # goes on from where it stopped
    finally:
        postgres.MOVE_BATCH_ROWS = saved
    checks = compare_with_sqlite(source.connection, primary)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {c.table: c.target_rows for c in checks}["sentences"] == 60
    with pytest.raises(ValueError, match="not copied from other"):
        copy_from_sqlite(source.connection, primary, "other")
    # A host joins from the moved archive; new writes take ids after the copied ones.
    joined = host(tmp_path, "joined", archive_url)
    joined.follow()
    assert state(joined)[1:] == state(source)[1:]
    _, [put] = joined.put_articles([prepared("after", "Written after the move. It works.")], "m")
    assert put.status == "created" and min(joined.live_rows(joined.generation(), 31).ids) > 60
    assert np.all(np.diff(joined.live_rows(joined.generation()).ids) > 0)


@pytest.mark.model
def test_a_host_far_behind_writes_a_snapshot_from_the_stored_vectors(tmp_path, archive_url, embedder, monkeypatch):
    """A host that follows a burst of writes past SNAPSHOT_AFTER folds them into a new snapshot
    from the vectors it pulled: the model embeds nothing."""
    from index.ingestion.builder import build_from_archive
    from index.retrieval.live import load_index
    from index.storage import layout
    from index.verify import ClaimVerifier
    from index.writer import ArticleWriter

    a = host(tmp_path, "a", archive_url)
    one = prepared("first", "The first story was filed. It had two sentences.", dim=embedder.dimension)
    a.put_articles([one], embedder.name)
    build_from_archive(PostgresArchive(archive_url), tmp_path / "b")
    live = load_index(tmp_path / "b", PostgresArchive(archive_url))
    writer = ArticleWriter(ClaimVerifier(embedder, live), snapshot_after=50)
    before = live.manifest.version

    def refuse(*args, **kwargs):
        raise AssertionError("a host following the archive embedded something")

    monkeypatch.setattr(embedder, "encode", refuse)
    try:
        for i in range(30):  # 60 sentences through host a while b follows
            text = f"Story {i} was filed late. It said {i} things."
            a.put_articles([prepared(f"s{i}", text, dim=embedder.dimension)], embedder.name)
        generation = a.generation()
        deadline = time.monotonic() + 30
        while live.view().generation < generation or live.view().version == before:
            assert time.monotonic() < deadline, "not caught up, or no new snapshot"
            time.sleep(0.1)
        view = live.view()
        assert view.size == 62 and view.snapshot.manifest.generation > 1
        assert layout.Manifest.read(layout.current_version_dir(tmp_path / "b")).version == view.version
    finally:
        writer.follower.stop()


def test_compaction_keeps_what_a_host_far_behind_needs(tmp_path, archive_url):
    a, b = host(tmp_path, "a", archive_url), host(tmp_path, "b", archive_url)
    a.put_articles([prepared("x", "Kyiv was hit by 133 drones. Power failed.")], "m")
    a.put_articles([prepared("gone", "This one is deleted later. It goes.")], "m")
    b.follow()  # b is at generation 2, then away
    a.put_articles([prepared("x", "Kyiv was hit by 140 drones. Power failed.")], "m")
    a.delete_article("gone")
    compacted = a.primary.compact(keep_generations=0)
    assert compacted == {"sentences": 4, "reviews": 0, "articles": 1}
    with a.primary.read() as conn:
        assert conn.execute("SELECT count(*) FROM sentences WHERE length(vector) = 0").fetchone()[0] == 4
    b.follow()  # the retirements still reach it; the live rows are whole
    assert state(b) == state(a)
    assert b.live_rows(b.generation()).texts == ["Kyiv was hit by 140 drones.", "Power failed."]
    fresh = host(tmp_path, "fresh", archive_url)  # a new host joins after compaction
    fresh.follow()
    assert state(fresh) == state(a)
