"""Build (or rebuild) the claim index from article files and folders.

    python scripts/build_index.py --out var/index data/articles more.jsonl

Articles are added to (or replaced in) the index directory's archive in one
transaction; articles whose content is unchanged are not embedded again, and
articles added over HTTP are kept. A new snapshot then becomes live atomically,
and a running service picks it up on its next request. A crash leaves the
previous state untouched. Skipped inputs are reported as `path:line: reason`;
the exit status is 1 if nothing was indexed.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedder_options import add_embedder_options, load_embedder_from_options  # beside this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the claim index from article files and folders.")
    parser.add_argument("paths", nargs="+", help="article files (.txt, .md, .jsonl) or folders")
    parser.add_argument("--out", required=True, help="index directory (e.g. var/index)")
    add_embedder_options(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from index.builder import NothingToIndex, build_index

    embedder = load_embedder_from_options(args, batch_size=args.batch_size)
    if embedder is None:
        return 1
    with tqdm(unit="sentence", disable=True if args.no_progress else None, file=sys.stderr) as bar:
        try:

            def on_total(n: int) -> None:
                print(f"embedding {n} new sentences", file=sys.stderr, flush=True)
                bar.total = n

            report = build_index(args.paths, args.out, embedder, progress=bar.update, on_total=on_total)
        except NothingToIndex as exc:
            _print_problems(exc.problems)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (RuntimeError, OSError, ValueError, sqlite3.Error) as exc:
            # A full disk, a locked or damaged archive, another model's archive: one line, no traceback;
            # nothing was applied (the archive write is one transaction, the snapshot is published last).
            print(f"error: {type(exc).__name__}: {exc}; the index is unchanged", file=sys.stderr)
            return 1
    _print_problems(report.problems)
    if report.truncated_sentences:
        print(
            f"warning: {report.truncated_sentences} sentences are longer than the model reads; "
            "only their beginning is embedded",
            file=sys.stderr,
        )
    print(report.summary())
    return 0


def _print_problems(problems) -> None:
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
