"""The build on Ray (`scripts/build_index.py --ray`, index/ingestion/ray_build.py) gives what the local build gives."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np

from index.evaluation import load_claims
from index.storage.archive import Archive
from index.verify import ClaimVerifier, load_index
from tests.conftest import ROOT, SAMPLE_ARTICLE, SAMPLE_ARTICLES, run_build_index

DEV_CLAIMS = ROOT / "tests" / "data" / "dev_claims.jsonl"


def _articles(archive: Archive) -> dict[str, list[tuple]]:
    """Every live article's sentences: ids, positions, offsets, texts."""
    summaries, _ = archive.list_articles(limit=1000)
    return {
        a.id: [(s.id, s.position, s.start, s.end, s.text) for s in archive.get_article(a.id).sentences]
        for a in summaries
    }


def _report(stdout: str) -> str:
    """The build's summary line without its time, speed and version."""
    return re.sub(r" in [\d.]+s \(\d+ sentences/s\); version \S+;", "", stdout.strip())


def test_a_ray_build_has_the_local_build_s_ids_vectors_and_top1(tmp_path, embedder):
    # The article twice (its folder and its file): kept once and counted as a duplicate either way.
    inputs = (SAMPLE_ARTICLES, SAMPLE_ARTICLE)
    local = run_build_index(tmp_path / "local", *inputs)
    # Blocks of 8 texts over 2 actors: they come back out of order and are put in place.
    on_ray = run_build_index(tmp_path / "ray", *inputs, "--ray", "local", "--ray-actors", "2", "--ray-block-texts", "8")
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    assert "embedding 28 new sentences on Ray (local: 2 actors × 1 CPUs)" in on_ray.stderr
    assert (
        _report(on_ray.stdout)
        == _report(local.stdout)
        == ("indexed 1 articles, 28 sentences 28 sentences embedded, 0 articles unchanged, 0 skipped, 1 duplicates")
    )

    archives = Archive.open(tmp_path / "local"), Archive.open(tmp_path / "ray")
    assert _articles(archives[1]) == _articles(archives[0])
    local_rows, ray_rows = (a.live_rows(a.generation()) for a in archives)
    assert ray_rows.ids.tolist() == local_rows.ids.tolist()
    assert ray_rows.texts == local_rows.texts
    assert np.abs(ray_rows.vectors - local_rows.vectors).max() <= 1e-5

    claims = [c.claim for c in load_claims(DEV_CLAIMS)]

    def top1(index_dir):
        results = ClaimVerifier(embedder, load_index(index_dir)).verify_claims(claims, top_k=1)
        return [(r.evidence[0].article.id, r.evidence[0].start, r.evidence[0].text) for r in results]

    assert top1(tmp_path / "ray") == top1(tmp_path / "local")


def test_the_engine_and_the_service_never_import_ray():
    """Only `build_index.py --ray` needs the cluster extra; `make serve` and the image lack it."""
    code = (
        "import sys, index, index.ingestion.builder, index.verify, index.writer, service;"
        "from service import create_app;"
        "assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_ray_build_writes_into_the_shared_archive(tmp_path, archive_url, onnx_dir):
    """`--ray` with `--archive`: the articles land in PostgreSQL; the output is a replica of it."""
    options = ("--ray", "local", "--ray-actors", "1", "--archive", archive_url)
    run = run_build_index(tmp_path / "ray", SAMPLE_ARTICLES, *options)
    assert run.returncode == 0, run.stderr
    assert "embedding 28 new sentences on Ray" in run.stderr
    from index.storage.postgres import PostgresArchive

    primary = PostgresArchive(archive_url)
    with primary.read() as conn:
        assert conn.execute("SELECT count(*) FROM sentences WHERE retired IS NULL").fetchone()[0] == 28
    replica = Archive.open(tmp_path / "ray")
    assert replica.generation() == primary.generation() == 1
    assert len(replica.live_rows(1).ids) == 28
