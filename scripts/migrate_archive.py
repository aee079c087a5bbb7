"""Move a one-machine archive (INDEX_DIR/archive.sqlite) into a shared archive in PostgreSQL.

    python scripts/migrate_archive.py --from var/index --to postgresql://…

Stop the writers first (the service's writes, the sync). The schema is brought up to this
release's, then every table is copied: the large ones (changes, sentences, reviews) in
batches of 20,000 rows, each its own transaction, so a run that is stopped goes on from the
last batch when started again; the others are upserted whole. The copy is then verified:
the same rows and the same sha256 over every row, table by table, or the exit status is 1.
Vectors are copied as stored: no host embeds anything to join (scripts/build_index.py
--from-archive). Then set ARCHIVE_URL on every host.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Copy a SQLite archive into a shared PostgreSQL archive.")
    parser.add_argument("--from", dest="source", required=True, help="the index directory (its archive.sqlite)")
    parser.add_argument("--to", dest="target", required=True, help="postgresql://… (an empty database)")
    args = parser.parse_args(argv)

    from index.storage.archive import Archive, ArchiveError
    from index.storage.postgres import ArchiveUnavailable, PostgresArchive, compare_with_sqlite, copy_from_sqlite

    started = time.perf_counter()
    try:
        archive = Archive.open(args.source)
        archive.check()
        primary = PostgresArchive(args.target)
        primary.migrate()
        primary.check_schema()
        source = str(archive.path.resolve())

        def progress(table: str, rows: int) -> None:
            print(f"  {table}: +{rows} rows", file=sys.stderr, flush=True)

        copied = copy_from_sqlite(archive.connection, primary, source, progress)
        checks = compare_with_sqlite(archive.connection, primary)
    except (ArchiveError, ArchiveUnavailable, FileNotFoundError, ValueError, sqlite3.Error) as exc:
        print(f"error: {type(exc).__name__}: {exc}; run it again to go on from where it stopped", file=sys.stderr)
        return 1
    bad = [c for c in checks if not c.ok]
    for check in checks:
        mark = "ok" if check.ok else "DIFFERS"
        print(
            f"{check.table}: {check.source_rows} rows → {check.target_rows} "
            f"(sha256 {check.source_sha256[:12]} / {check.target_sha256[:12]}) {mark}"
        )
    print(
        f"copied {sum(copied.values())} rows into {primary.display} in {time.perf_counter() - started:.1f}s; "
        f"{'verified' if not bad else f'{len(bad)} tables differ'}"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
