"""The shared archive in PostgreSQL at scale: built from text, joined from its vectors, its size, its write rate.

    .venv/bin/python benchmarks/archive_scale.py --sentences 100000          # the default: embed, join, agree, size
    .venv/bin/python benchmarks/archive_scale.py --write-rate                # one primary's write rate, beside SQLite
    .venv/bin/python benchmarks/archive_scale.py --from-archive-only 1M      # joining at 1M without embedding 1M

A local PostgreSQL (service/postgres_server.py, as the tests start it) runs in a scratch
folder on a free port, one database per measurement, each migrated first; it is stopped and
the folder removed at the end (`--keep` keeps it).

`--sentences N`: `synthetic_corpus` wire copy (seeded; articles of 12 to 40 sentences, about 26)
written as JSONL, then
  a. embed from text: `build_index(corpus, host-1, embedder, primary=PostgresArchive(url))`, every
     sentence embedded by the service's embedder (`--backend`, default the service's), written to
     the shared archive, pulled into host-1's replica and snapshotted;
  b. from the stored vectors: `build_from_archive(PostgresArchive(url), host-2)`, nothing embedded
     (its copy and snapshot seconds as it reports them);
  c. top-1 agreement: 100 `make_claims` claims (paraphrased corpus sentences, seeded), embedded
     once and searched on both hosts' `load_index(dir).view().dense`; the same top-1 id on both?
  d. PostgreSQL's size: the database, `sentences` with its indexes and TOAST, bytes per sentence.
`--write-rate`: 300 articles of synthetic sentences with random unit vectors (dimension 384)
through `Archive.put_articles`, one article a transaction and 32 a transaction, with the
PostgreSQL primary (each write then pulled into the host's replica, as the service does) and
on the plain SQLite archive; `--rounds` rounds, the order rotating.
`--from-archive-only N`: N sentences with random unit vectors written through `put_articles`
with the primary (`--batch-articles` a transaction; stops early once `--budget` seconds of
writing are spent), then `build_from_archive` into a fresh folder, and each of 100 stored
vectors searched on the joined host (its own id should come first).

One JSON line a measurement on stdout, each with the machine line (CPU and its int8 flags,
load); everything also in a JSON file (`--json`, default var/bench/archive_scale-<mode>.json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import synthetic_corpus
from harness import (
    bench_dir,
    command,
    contention,
    ensure_onnx_export,
    free_port,
    human,
    log,
    machine,
    parse_size,
    percentile,
    rotated,
    write_json,
)

DIMENSION = synthetic_corpus.DIMENSION
CLAIMS = 100


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentences", type=parse_size, help="build from text at this size (default 100k alone)")
    p.add_argument("--write-rate", action="store_true", help="the write rate of one primary, beside SQLite")
    p.add_argument("--from-archive-only", type=parse_size, metavar="N", help="join from N stored random vectors")
    p.add_argument("--articles", type=int, default=300, help="--write-rate: articles written per configuration")
    p.add_argument("--rounds", type=int, default=3, help="--write-rate: rounds, the order rotating")
    p.add_argument("--batch-articles", type=int, default=32, help="--from-archive-only: articles a transaction")
    p.add_argument("--budget", type=float, default=900, help="--from-archive-only: seconds of writing at most")
    p.add_argument("--backend", help="embedding backend (default: the service's, EMBEDDING_BACKEND's default)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", help="scratch folder (default: a new one under the system's temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder and leave the server running")
    p.add_argument("--json", type=Path, help="also write every measurement here")
    a = p.parse_args()
    if a.sentences is None and not a.write_rate and a.from_archive_only is None:
        a.sentences = 100_000
    modes = [
        *([f"sentences{human(a.sentences)}{'-' + a.backend if a.backend else ''}"] if a.sentences else []),
        *(["write-rate"] if a.write_rate else []),
        *([f"from-archive-only{human(a.from_archive_only)}"] if a.from_archive_only else []),
    ]
    out = a.json or bench_dir() / f"archive_scale-{'-'.join(modes)}.json"
    bench = Bench(out)
    started = time.perf_counter()
    with scratch(a.work, a.keep) as work, local_postgres(work / "pg", a.keep) as server:
        bench.header["postgres"] = server_settings(server.url())
        log(f"PostgreSQL {bench.header['postgres']['server_version']} at 127.0.0.1:{server.port}, data in {work}")
        if a.sentences:
            from_text(bench, server, work, a.sentences, a.seed, a.backend)
        if a.write_rate:
            write_rate(bench, server, work, a.articles, a.rounds, a.seed)
        if a.from_archive_only:
            from_archive_only(bench, server, work, a.from_archive_only, a.batch_articles, a.budget, a.seed)
    bench.header["seconds"] = round(time.perf_counter() - started, 1)
    bench.header["at the end"] = contention()
    bench.save()
    log(f"{command()}: {bench.header['seconds']:.0f}s; results in {out}")


class Bench:
    """The measurements so far, printed one JSON line each and saved after each (a run cut short keeps them)."""

    def __init__(self, out: Path):
        self.out = out
        self.header = {"command": command(), "machine": machine()}
        self.rows: list[dict] = []
        print(json.dumps({"measurement": "machine", **self.header}), flush=True)

    def record(self, measurement: str, **figures) -> dict:
        row = {"measurement": measurement, **figures, "machine": machine()}
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        self.save()
        return row

    def save(self) -> None:
        write_json(self.out, {**self.header, "rows": self.rows})


@contextmanager
def scratch(where: str | None, keep: bool) -> Iterator[Path]:
    work = Path(where) if where else Path(tempfile.mkdtemp(prefix="archive-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o755)  # PostgreSQL's unprivileged user must reach its data directory inside
    try:
        yield work
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


@contextmanager
def local_postgres(data_dir: Path, keep: bool):
    from service.postgres_server import init

    server = init(data_dir, free_port())
    try:
        yield server
    finally:
        if not keep and server.running():
            server.stop()


def server_settings(url: str) -> dict:
    import psycopg

    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_wal_size")
    with psycopg.connect(url) as conn:
        return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}


_databases = 0


def new_primary(server, label: str):
    """A new, migrated shared archive (its own database) and its URL."""
    from index.storage.postgres import PostgresArchive

    global _databases
    _databases += 1
    url = server.create_database(f"bench_{_databases}_{label}_{time.time_ns()}")
    primary = PostgresArchive(url)
    primary.migrate()
    return primary, url


def pg_sizes(url: str, sentences: int) -> dict:
    """The database's size and the sentences table's (heap, TOAST, indexes), whole and per sentence."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CHECKPOINT")
        database, total, heap, indexes, toast, rows = conn.execute(
            "SELECT pg_database_size(current_database()), pg_total_relation_size('sentences'), "
            "pg_relation_size('sentences'), pg_indexes_size('sentences'), "
            "coalesce(pg_total_relation_size(nullif(reltoastrelid, 0)), 0), (SELECT count(*) FROM sentences) "
            "FROM pg_class WHERE oid = 'sentences'::regclass"
        ).fetchone()
    per = max(1, rows)
    return {
        "sentences_rows": rows,
        "database_bytes": database,
        "sentences_total_bytes": total,
        "sentences_heap_bytes": heap,
        "sentences_toast_bytes": toast,
        "sentences_index_bytes": indexes,
        "database_bytes_per_sentence": round(database / per, 1),
        "sentences_total_bytes_per_sentence": round(total / per, 1),
        "sentences_heap_bytes_per_sentence": round(heap / per, 1),
        "sentences_toast_bytes_per_sentence": round(toast / per, 1),
        "sentences_index_bytes_per_sentence": round(indexes / per, 1),
        "expected_sentences": sentences,
    }


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# ---- 1. from text, then from the stored vectors ------------------------------------------------


def from_text(bench: Bench, server, work: Path, n: int, seed: int, backend: str | None) -> None:
    import synthetic_corpus

    from index.ingestion.builder import build_index
    from index.retrieval.embedder import DEFAULT_BACKEND, load_embedder
    from index.retrieval.live import load_index
    from index.storage import layout

    backend = backend or DEFAULT_BACKEND
    corpus = work / f"corpus-{human(n)}-s{seed}.jsonl"
    records, texts = [], []
    for record, body in synthetic_corpus._articles(seed, None, n):
        records.append(record)
        texts.extend(body)
    synthetic_corpus.write_jsonl(corpus, iter(records))
    claims = synthetic_corpus.make_claims(texts, CLAIMS, seed=seed)
    log(f"corpus: {len(records):,} articles, {len(texts):,} sentences ({len(texts) / len(records):.1f} an article)")

    ensure_onnx_export()
    embedder = load_embedder(backend=backend)
    embedder.encode(texts[:256])  # warm-up: the session's first runs
    primary, url = new_primary(server, "text")
    host_1, host_2 = work / "host-1", work / "host-2"

    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_total(count: int) -> None:
        marks["split"] = time.perf_counter()
        log(f"embedding {count:,} sentences with {backend}")

    def progress(count: int) -> None:
        marks["embedded"] = time.perf_counter()
        marks["done"] = marks.get("done", 0) + count
        if int(marks["done"]) % 20_480 < count:
            log(f"  {int(marks['done']):,} embedded, {marks['done'] / (marks['embedded'] - marks['split']):.0f}/s")

    report = build_index([corpus], host_1, embedder, progress=progress, on_total=on_total, primary=primary)
    total = time.perf_counter() - started
    snapshot = layout.Manifest.read(report.directory).build_seconds
    split_s = marks["split"] - started
    embed_s = marks["embedded"] - marks["split"]
    text_row = bench.record(
        "embed from text",
        backend=backend,
        articles=report.articles,
        sentences=report.sentences,
        embedded=report.embedded,
        seconds=round(total, 1),
        read_split_seconds=round(split_s, 1),
        embed_seconds=round(embed_s, 1),
        write_and_pull_seconds=round(total - split_s - embed_s - snapshot, 1),
        snapshot_seconds=round(snapshot, 1),
        sentences_per_second=round(report.sentences / total, 1),
        embedded_sentences_per_second=round(report.embedded / embed_s, 1),
        generation=layout.Manifest.read(report.directory).generation,
        vector_index=layout.Manifest.read(report.directory).vector_index,
    )
    primary.close()

    replica, joined = join(url, host_2)
    bench.record(
        "from the stored vectors",
        articles=replica.articles,
        sentences=replica.sentences,
        generation=replica.generation,
        seconds=round(joined, 1),
        copy_seconds=round(replica.copy_seconds, 1),
        snapshot_seconds=round(replica.snapshot_seconds, 1),
        copied_sentences_per_second=round(replica.sentences / replica.copy_seconds, 1),
        embed_from_text_over_from_archive=round(text_row["seconds"] / joined, 2),
        vector_index=layout.Manifest.read(layout.current_version_dir(host_2)).vector_index,
    )

    vectors = embedder.encode(claims)
    views = [load_index(host).view() for host in (host_1, host_2)]
    first, second = (view.dense(vectors, 10) for view in views)
    top1 = sum(a[0][0] == b[0][0] for a, b in zip(first, second, strict=True) if a and b)
    top10 = sum([i for i, _ in a] == [i for i, _ in b] for a, b in zip(first, second, strict=True))
    gap = max(abs(a[0][1] - b[0][1]) for a, b in zip(first, second, strict=True) if a and b)
    bench.record(
        "top-1 agreement",
        claims=len(claims),
        top1_same_id=top1,
        top10_same_ids_in_order=top10,
        max_top1_score_difference=gap,
        sizes=[view.size for view in views],
        generations=[view.generation for view in views],
        example_claim=claims[0],
    )

    sizes = pg_sizes(url, report.sentences)
    bench.record(
        "PostgreSQL size",
        **sizes,
        replica_sqlite_bytes_host_1=(host_1 / "archive.sqlite").stat().st_size,
        replica_sqlite_bytes_host_2=(host_2 / "archive.sqlite").stat().st_size,
        replica_sqlite_bytes_per_sentence=round((host_2 / "archive.sqlite").stat().st_size / report.sentences, 1),
        snapshot_bytes=folder_bytes(layout.current_version_dir(host_2)),
    )


def new_primary_object(url: str):
    """A second `PostgresArchive` on the same database: what a new host opens."""
    from index.storage.postgres import PostgresArchive

    return PostgresArchive(url)


def join(url: str, host: Path) -> tuple:
    """A new host's replica and snapshot from the stored vectors: (its report, wall seconds)."""
    from index.ingestion.builder import build_from_archive

    joiner = new_primary_object(url)
    started = time.perf_counter()
    replica = build_from_archive(joiner, host)
    seconds = time.perf_counter() - started
    joiner.close()
    return replica, seconds


# ---- stored articles with random vectors ------------------------------------------------------


def batches(items: Sequence, size: int) -> list[Sequence]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def model() -> str:
    from index.retrieval.embedder import model_name

    return model_name(None)


# ---- 2. the write rate ------------------------------------------------------------------------


def write_rate(bench: Bench, server, work: Path, articles: int, rounds: int, seed: int) -> None:
    from index.storage.archive import Archive

    configs = [("postgresql", 1), ("postgresql", 32), ("sqlite", 1), ("sqlite", 32)]
    figures: dict[tuple[str, int], list[dict]] = {c: [] for c in configs}
    for turn in range(rounds):
        for backend, per_txn in rotated(configs, turn):
            prefix = f"r{turn}-{backend}-{per_txn}"
            items = list(synthetic_corpus.random_vector_articles(seed + turn, prefix, articles=articles))
            primary = None
            if backend == "postgresql":
                primary, _ = new_primary(server, "rate")
            folder = work / "rate" / prefix
            archive = Archive.open(folder, create=True, primary=primary)
            warm = list(synthetic_corpus.random_vector_articles(seed + 1000 + turn, prefix + "-warm", articles=1))
            archive.put_articles(warm, model=model())  # the pool's connections, the files, the model row
            times = []
            started = time.perf_counter()
            for batch in batches(items, per_txn):
                begun = time.perf_counter()
                archive.put_articles(batch, model=model())
                times.append((time.perf_counter() - begun) * 1000)
            seconds = time.perf_counter() - started
            sentences = sum(len(item.sentences) for item in items)
            replica = archive.connection.execute("SELECT count(*) FROM sentences").fetchone()[0]
            archive.close()
            if primary is not None:
                primary.close()
            row = bench.record(
                "write rate",
                archive=backend,
                articles_per_transaction=per_txn,
                round=turn + 1,
                articles=len(items),
                sentences=sentences,
                seconds=round(seconds, 2),
                articles_per_second=round(len(items) / seconds, 1),
                sentences_per_second=round(sentences / seconds, 1),
                transaction_ms_p50=round(percentile(times, 50), 1),
                transaction_ms_p95=round(percentile(times, 95), 1),
                rows_in_local_file=replica,
            )
            figures[(backend, per_txn)].append(row)
            shutil.rmtree(folder, ignore_errors=True)
    for (backend, per_txn), rows in figures.items():
        bench.record(
            "write rate, median of rounds",
            archive=backend,
            articles_per_transaction=per_txn,
            rounds=len(rows),
            articles_per_second=round(statistics.median(r["articles_per_second"] for r in rows), 1),
            sentences_per_second=round(statistics.median(r["sentences_per_second"] for r in rows), 1),
            transaction_ms_p50=round(statistics.median(r["transaction_ms_p50"] for r in rows), 1),
        )


# ---- 3. joining at a size not embedded --------------------------------------------------------


def from_archive_only(bench: Bench, server, work: Path, n: int, per_txn: int, budget: float, seed: int) -> None:
    import numpy as np

    from index.retrieval.live import load_index
    from index.storage import layout
    from index.storage.archive import Archive

    primary, url = new_primary(server, "stored")
    writer = Archive.open(work / "writer", create=True, primary=primary)
    written = articles = 0
    writing = 0.0  # seconds inside put_articles (making the articles is not counted)
    started = time.perf_counter()
    interval = {"sentences": 0, "seconds": 0.0}
    steps: list[dict] = []
    batch: list = []

    def flush() -> None:
        nonlocal written, articles, writing
        begun = time.perf_counter()
        writer.put_articles(batch, model=model())
        took = time.perf_counter() - begun
        count = sum(len(item.sentences) for item in batch)
        writing += took
        written += count
        articles += len(batch)
        interval["sentences"] += count
        interval["seconds"] += took
        batch.clear()
        if interval["sentences"] >= max(10_000, n // 20):
            steps.append({"up_to": written, "sentences_per_second": round(interval["sentences"] / interval["seconds"])})
            log(f"  {written:,} written, {steps[-1]['sentences_per_second']:,}/s lately, {writing:.0f}s writing")
            interval.update(sentences=0, seconds=0.0)

    stopped_early = False
    for item in synthetic_corpus.random_vector_articles(seed, "stored", sentences=n):
        batch.append(item)
        if len(batch) >= per_txn:
            flush()
            if writing > budget:
                stopped_early = True
                break
    if batch:
        flush()
    wall = time.perf_counter() - started
    writer.close()
    primary.close()
    bench.record(
        "write stored vectors",
        asked=n,
        sentences=written,
        articles=articles,
        articles_per_transaction=per_txn,
        stopped_by_budget=stopped_early,
        budget_seconds=budget,
        write_seconds=round(writing, 1),
        wall_seconds_with_generation=round(wall, 1),
        sentences_per_second=round(written / writing, 1),
        articles_per_second=round(articles / writing, 1),
        along_the_way=steps,
    )
    bench.record("PostgreSQL size", **pg_sizes(url, written))

    host = work / "joined"
    replica, joined = join(url, host)
    manifest = layout.Manifest.read(layout.current_version_dir(host))
    bench.record(
        "from the stored vectors",
        sentences=replica.sentences,
        articles=replica.articles,
        generation=replica.generation,
        seconds=round(joined, 1),
        copy_seconds=round(replica.copy_seconds, 1),
        snapshot_seconds=round(replica.snapshot_seconds, 1),
        copied_sentences_per_second=round(replica.sentences / replica.copy_seconds, 1),
        vector_index=manifest.vector_index,
        replica_sqlite_bytes=(host / "archive.sqlite").stat().st_size,
        snapshot_bytes=folder_bytes(layout.current_version_dir(host)),
    )

    # Each of 100 stored vectors, searched on the joined host, should find its own sentence first.
    archive = Archive.open(host)
    ids = archive.connection.execute("SELECT id FROM sentences ORDER BY id").fetchall()
    picked = [int(ids[i][0]) for i in np.random.default_rng(seed).choice(len(ids), CLAIMS, replace=False)]
    stored = archive.vectors(picked)
    archive.close()
    same_as_primary = _same_vectors(url, stored)
    view = load_index(host).view()
    hits = view.dense(np.stack([stored[i] for i in picked]), 1)
    bench.record(
        "joined host finds stored vectors",
        queries=len(picked),
        own_id_first=sum(bool(row) and row[0][0] == i for row, i in zip(hits, picked, strict=True)),
        vectors_equal_to_primary=same_as_primary,
        index_size=view.size,
    )


def _same_vectors(url: str, stored: dict) -> int:
    """How many of the replica's vectors are byte for byte the primary's."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, vector FROM sentences WHERE id = ANY(%s)", (list(stored),)).fetchall()
    return sum(bytes(vector) == stored[int(i)].tobytes() for i, vector in rows)


if __name__ == "__main__":
    main()
