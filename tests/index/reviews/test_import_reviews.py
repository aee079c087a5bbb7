"""scripts/import_reviews.py end to end: every input shape, bad records reported and skipped,
re-importing changes nothing, and the service sees the import on its next request."""

from __future__ import annotations

import json
import subprocess
import sys

from index.reviews.store import ReviewStore
from index.storage.archive import Archive
from service.processes import ROOT

FEED = {
    "@context": "https://schema.org",
    "@type": "DataFeed",
    "dataFeedElement": [
        {
            "@type": "DataFeedItem",
            "item": {
                "@type": "ClaimReview",
                "url": "https://checks.example/chernobyl",
                "claimReviewed": "A drone destroyed the Chernobyl reactor's shelter",
                "datePublished": "2025-02-15",
                "author": {"@type": "Organization", "name": "Example Checks"},
                "reviewRating": {"@type": "Rating", "alternateName": "Mostly False"},
            },
        },
        {"@type": "DataFeedItem", "item": {"@type": "ClaimReview", "claimReviewed": "No date or author"}},
    ],
}
CSV = (
    "claim,rating,reviewed_by,reviewed_at\nVance met Zelensky in Munich,True,desk,2025-02-14\n,False,desk,2025-02-14\n"
)


def run_import(index_dir, *paths) -> subprocess.CompletedProcess:
    command = [sys.executable, "scripts/import_reviews.py", "--no-progress", "--out", str(index_dir), *map(str, paths)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_reports_bad_records_and_is_idempotent(tmp_path, writable_index_dir):
    feed, table = tmp_path / "feed.json", tmp_path / "reviews.csv"
    feed.write_text(json.dumps(FEED), "utf-8")
    table.write_text(CSV, "utf-8")
    before = Archive.open(writable_index_dir).generation()
    done = run_import(writable_index_dir, feed, table)
    assert done.returncode == 0, done.stderr
    assert f"skipped {feed}#2: no reviewer" in done.stderr
    assert f"skipped {table}:3: no claim" in done.stderr
    assert "2 created, 0 updated, 0 unchanged; 2 skipped" in done.stdout
    archive = Archive.open(writable_index_dir)
    after = archive.generation()
    assert after == before + 2
    listed, _ = ReviewStore(archive).list_reviews()
    assert {(r.claim, r.verdict, r.reviewed_by) for r in listed} == {
        ("A drone destroyed the Chernobyl reactor's shelter", "contradicted", "Example Checks"),
        ("Vance met Zelensky in Munich", "supported", "desk"),
    }
    again = run_import(writable_index_dir, feed, table)
    assert again.returncode == 0 and "0 created, 0 updated, 2 unchanged" in again.stdout
    assert Archive.open(writable_index_dir).generation() == after


def test_import_without_a_single_review_or_index_fails(tmp_path, writable_index_dir):
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"claim": "no reviewer, no date"}\n', "utf-8")
    done = run_import(writable_index_dir, empty)
    assert done.returncode == 1 and "no review to import" in done.stderr
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(FEED), "utf-8")
    done = run_import(tmp_path / "no-index", feed)
    assert done.returncode == 1 and "archive not found" in done.stderr


def test_a_politifact_export_imports_with_its_ratings_mapped(tmp_path, writable_index_dir):
    from tests.index.reviews.test_reviews import POLITIFACT

    export = tmp_path / "politifact.jsonl"
    export.write_text("\n".join(json.dumps(r) for r in POLITIFACT), "utf-8")
    done = run_import(writable_index_dir, export)
    assert done.returncode == 0 and "2 created" in done.stdout, done.stderr
    listed, _ = ReviewStore(Archive.open(writable_index_dir)).list_reviews()
    found = {r.claim[:20]: (r.verdict, r.rating.text, r.reviewed_by, r.claimant) for r in listed}
    assert found["Schuyler VanValkenbu"] == ("contradicted", "False", "PolitiFact", "GayDonna Vandergriff")
    assert found["On tax increases."] == ("unproven", "Half Flip", "PolitiFact", "Scott Walker")
