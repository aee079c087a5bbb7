"""The shared archive's schema: check it, or bring it up to this release's.

    python scripts/archive_schema.py             # ARCHIVE_URL's schema version, and whether it fits
    python scripts/archive_schema.py --upgrade   # apply every migration it lacks (index/storage/migrations/)
    python scripts/archive_schema.py --compact 100000   # empty rows retired over 100,000 generations ago

Each migration runs in its own transaction under an advisory lock, so two hosts upgrading at
once apply it once. A worker checks the version at start: too old or too new, it stays not
ready and /readyz names this script. Exit status 0 when the schema is this release's.

`--compact N` is the shared archive's garbage collection: the text and vectors of sentences
(and reviews) retired more than N generations ago are emptied, and deleted articles' bodies;
the rows themselves stay, so a host away however long still catches up from the log. Run
it from cron, then let autovacuum (or VACUUM) reuse the space.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check or upgrade the shared archive's schema.")
    parser.add_argument("--url", default=os.environ.get("ARCHIVE_URL"), help="default: $ARCHIVE_URL")
    parser.add_argument("--upgrade", action="store_true", help="apply the migrations it lacks")
    parser.add_argument("--compact", type=int, metavar="N", help="empty rows retired over N generations ago")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("set ARCHIVE_URL or pass --url")

    from index.storage.postgres import SCHEMA_VERSION, ArchiveUnavailable, PostgresArchive, SchemaMismatch

    try:
        primary = PostgresArchive(args.url)
        if args.upgrade:
            applied = primary.migrate()
            print(f"{primary.display}: applied {applied or 'nothing'}; schema version {primary.schema_version()}")
        primary.check_schema()
        if args.compact is not None:
            print(f"{primary.display}: compacted {primary.compact(max(0, args.compact))}")
    except (ArchiveUnavailable, SchemaMismatch, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{primary.display}: schema version {SCHEMA_VERSION}, as this release needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
