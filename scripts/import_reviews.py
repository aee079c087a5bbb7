"""Import reviews (schema.org ClaimReview JSON-LD, JSONL or CSV) into an index directory.

    python scripts/import_reviews.py --out var/index feed.json reviews.csv https://example.org/feed.jsonld

The directory is the one `build_index.py` builds (and the service serves): the reviews go
into its archive in one transaction, so a running service matches them from its next
request, and an interrupted import leaves nothing. Records that are not reviews are
reported as `skipped <file>:<line or #n>: <reason>` and left out; the rest are imported.
Re-importing the same records changes nothing (a review's id comes from its URL and claim,
and unchanged content is not written, nor embedded again). Formats: index/reviews/claimreview.py
and docs/reviews.md. Exit status: 0 when something was imported or all was
already there, 1 when no record could be read or the index could not be written.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedder_options import add_embedder_options, load_embedder_from_options  # beside this file

FETCH_TIMEOUT_SECONDS = 60
MAX_FETCH_BYTES = 512 * 1024 * 1024


def read_source(source: str) -> str:
    """A file's or an http(s) URL's text (UTF-8, a BOM dropped)."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as response:
            data = response.read(MAX_FETCH_BYTES + 1)
        if len(data) > MAX_FETCH_BYTES:
            raise ValueError(f"larger than {MAX_FETCH_BYTES} bytes")
    else:
        data = Path(source).read_bytes()
    return data.decode("utf-8-sig")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import ClaimReview (JSON-LD), JSONL or CSV reviews into an index.")
    parser.add_argument("sources", nargs="+", metavar="FILE|URL", help="review files or http(s) URLs")
    parser.add_argument("--out", required=True, help="index directory (as for build_index.py, e.g. var/index)")
    parser.add_argument(
        "--reviewed-by", help="the reviewer of records that name none (default: such records are skipped)"
    )
    add_embedder_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from index.reviews.claimreview import read_records, review_from_record
    from index.reviews.review import ReviewError
    from index.reviews.store import ReviewStore, write_reviews
    from index.storage.archive import Archive, ArchiveError, ModelMismatch

    reviews, skipped = [], 0
    for source in args.sources:
        try:
            text = read_source(source)
        except (OSError, ValueError) as exc:
            print(f"skipped {source}: cannot read it: {exc}", file=sys.stderr)
            skipped += 1
            continue
        for position, record in read_records(text, source):
            try:
                if isinstance(record, ReviewError):
                    raise record
                reviews.append(review_from_record(record, default_reviewer=args.reviewed_by))
            except ReviewError as exc:
                print(f"skipped {position}: {exc.message}", file=sys.stderr)
                skipped += 1
    if not reviews:
        print(f"error: no review to import ({skipped} skipped)", file=sys.stderr)
        return 1
    try:
        archive = Archive.open(args.out)
    except (FileNotFoundError, ArchiveError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    embedder = load_embedder_from_options(args)
    if embedder is None:
        return 1
    try:
        archive.check_model(embedder.name, embedder.dimension)
        with tqdm(unit="claim", disable=True if args.no_progress else None, file=sys.stderr) as bar:

            def on_total(n: int) -> None:
                print(f"{len(reviews)} reviews read, embedding {n} new claims", file=sys.stderr, flush=True)
                bar.total = n

            generation, results = write_reviews(
                ReviewStore(archive), embedder, reviews, progress=bar.update, on_total=on_total
            )
    except (ModelMismatch, RuntimeError, OSError, ValueError, sqlite3.Error) as exc:
        print(f"error: {type(exc).__name__}: {exc}; the index is unchanged", file=sys.stderr)
        return 1
    counts = Counter(r.status for r in results)
    print(
        f"imported {len(results)} reviews into {args.out} (generation {generation}): "
        f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged; "
        f"{skipped} skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
