"""Build (or rebuild) the claim index from article files and folders.

    python scripts/build_index.py --out var/index data/articles more.jsonl

Articles are added to (or replaced in) the index directory's archive in one
transaction; articles whose content is unchanged are not embedded again, and
articles added over HTTP are kept. A new snapshot then becomes live atomically,
and a running service picks it up on its next request. A crash leaves the
previous state untouched. Skipped inputs are reported as `path:line: reason`;
the exit status is 1 if nothing was indexed.

    python scripts/build_index.py --out var/index --ray local data/articles   # or --ray ADDRESS

`--ray` reads, splits and embeds on a Ray cluster (index/ingestion/ray_build.py; the `cluster` extra),
`local` starting one on this machine for the run; this process still writes the index.

    python scripts/build_index.py --out var/index --feed https://example.org/feed/ \
        --sitemap https://example.org/news-sitemap.xml --since 2025-01-01 \
        --wordpress https://example.org pages/

With `--feed`, `--sitemap` or `--wordpress` the run is a sync (index/ingestion/sources/sync.py): sources
are fetched politely (robots.txt, per-host limits, retries, conditional requests), only what
changed is embedded and written, in batches through the archive's write path, and a new
snapshot is published only when something changed. Run it again (from cron) to stay in sync;
an unchanged source writes nothing. Files named beside them (HTML included) join the same sync.

    python scripts/build_index.py --out var/index --archive postgresql://… data/articles
    python scripts/build_index.py --out var/host-2 --from-archive postgresql://…

With `--archive` (or ARCHIVE_URL set) every write goes to the shared archive in PostgreSQL and
`--out` is this host's replica and snapshots (docs/archive.md, "Several hosts"). `--from-archive`
builds a host's replica and snapshot from the vectors stored there, without loading the model:
how a new host joins.

    python scripts/build_index.py --out var/index --snapshot

`--snapshot` writes a new snapshot of the archive as it is (FAISS and BM25 from the stored
vectors, nothing embedded): after an upgrade whose snapshot format changed, a worker stays
not ready and names this command.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedder_options import add_embedder_options, embedder_options, load_embedder_from_options  # beside this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the claim index from article files and folders, feeds, sitemaps and WordPress sites."
    )
    parser.add_argument("paths", nargs="*", help="article files (.txt, .md, .jsonl, .html) or folders")
    parser.add_argument("--out", required=True, help="index directory (e.g. var/index)")
    shared = parser.add_argument_group("the shared archive (PostgreSQL)")
    shared.add_argument(
        "--archive",
        metavar="URL",
        default=os.environ.get("ARCHIVE_URL") or None,
        help="write into this shared archive; --out is this host's replica (default: $ARCHIVE_URL)",
    )
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="write a new snapshot of --out's archive as it is (after an upgrade); nothing is embedded",
    )
    shared.add_argument(
        "--from-archive",
        metavar="URL",
        help="build --out from the vectors stored in this shared archive (nothing is embedded)",
    )
    sources = parser.add_argument_group("sources by URL (the run is then an incremental sync)")
    sources.add_argument("--feed", action="append", default=[], metavar="URL", help="an RSS or Atom feed (repeatable)")
    sources.add_argument(
        "--sitemap", action="append", default=[], metavar="URL", help="a sitemap, sitemap index or news sitemap"
    )
    sources.add_argument("--since", metavar="DATE", help="sitemaps: only pages dated (lastmod) on or after DATE")
    sources.add_argument(
        "--wordpress", action="append", default=[], metavar="URL", help="a WordPress site (its /wp-json/wp/v2/posts)"
    )
    polite = parser.add_argument_group("fetching")
    polite.add_argument("--per-host", type=int, default=2, help="requests at once to one host (default 2)")
    polite.add_argument(
        "--interval", type=float, default=0.5, help="seconds between requests to one host (default 0.5)"
    )
    polite.add_argument("--timeout", type=float, default=30.0, help="seconds for a whole response (default 30)")
    polite.add_argument("--retries", type=int, default=3, help="retries on 429, 5xx and timeouts (default 3)")
    polite.add_argument("--max-bytes", type=int, default=10 * 1024 * 1024, help="largest page read (default 10 MiB)")
    polite.add_argument("--batch-articles", type=int, default=32, help="articles written per transaction")
    add_embedder_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    ray = parser.add_argument_group("Ray (the cluster extra)")
    ray.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="read, split and embed on the Ray cluster at ADDRESS; 'local' starts one for this run",
    )
    ray.add_argument("--ray-actors", type=int, help="embedding actors (default: as many as the cluster's CPUs hold)")
    ray.add_argument(
        "--ray-actor-cpus", type=int, default=1, help="CPUs each actor reserves and its model's threads (default 1)"
    )
    ray.add_argument("--ray-block-texts", type=int, help="texts an actor takes at a time (default 512)")
    args = parser.parse_args(argv)
    syncing = bool(args.feed or args.sitemap or args.wordpress)
    if args.snapshot:
        if args.paths or syncing or args.from_archive:
            parser.error("--snapshot rewrites the snapshot of --out's archive alone: give no inputs")
        return _snapshot(args.out, args.archive)
    if args.from_archive:
        if args.paths or syncing:
            parser.error("--from-archive builds from the shared archive alone: give no inputs")
        return _from_archive(args.from_archive, args.out)
    if not args.paths and not syncing:
        parser.error("give article files or folders, or --feed / --sitemap / --wordpress URLs")
    if syncing and args.ray:
        parser.error("--ray builds from files only")
    since = None
    if args.since:
        from index.documents.articles import parse_date

        since = parse_date(args.since)
        if since is None:
            parser.error(f"--since: not a date: {args.since!r}")

    from tqdm import tqdm

    from index.ingestion.builder import NothingToIndex, build_index

    embedder = load_embedder_from_options(args)
    if embedder is None:
        return 1
    if syncing:
        return _sync(args, embedder, since)
    # ArchiveUnavailable and SchemaMismatch are RuntimeErrors: one line, no traceback, too.
    errors: tuple[type[Exception], ...] = (RuntimeError, OSError, ValueError, sqlite3.Error)
    with (
        ExitStack() as stack,
        tqdm(unit="sentence", disable=True if args.no_progress else None, file=sys.stderr) as bar,
    ):
        steps, where = {}, ""
        if args.ray:
            ray = _on_ray(args, stack)
            if ray is None:
                return 1
            steps, where, more_errors = ray
            errors += more_errors
        try:

            def on_total(n: int) -> None:
                print(f"embedding {n} new sentences{where}", file=sys.stderr, flush=True)
                bar.total = n

            report = build_index(
                args.paths,
                args.out,
                embedder,
                progress=bar.update,
                on_total=on_total,
                primary=_primary(args.archive),
                **steps,
            )
        except NothingToIndex as exc:
            _print_problems(exc.problems)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except errors as exc:
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


def _primary(url: str | None):
    if not url:
        return None
    from index.storage.postgres import PostgresArchive

    return PostgresArchive(url)


def _snapshot(out: str, url: str | None) -> int:
    from index.ingestion.builder import write_snapshot
    from index.storage.archive import Archive, ArchiveError

    try:
        archive = Archive.open(out, primary=_primary(url))
        archive.check()
        archive.catch_up()
        if archive.model() is None:
            print(f"error: {archive.where} holds no sentences yet", file=sys.stderr)
            return 1
        manifest = write_snapshot(out, archive)
    except (ArchiveError, FileNotFoundError, OSError, RuntimeError, ValueError, sqlite3.Error) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(
        f"snapshot {manifest.version}: {manifest.articles} articles, {manifest.sentences} sentences at generation "
        f"{manifest.generation} in {manifest.build_seconds:.1f}s (nothing embedded)"
    )
    return 0


def _from_archive(url: str, out: str) -> int:
    from index.ingestion.builder import build_from_archive
    from index.storage.postgres import ArchiveUnavailable, PostgresArchive, ReplicaMismatch, SchemaMismatch

    try:
        primary = PostgresArchive(url)
        report = build_from_archive(primary, out)
    except (ArchiveUnavailable, SchemaMismatch, ReplicaMismatch, ValueError, OSError, sqlite3.Error) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    return 0


def _sync(args: argparse.Namespace, embedder, since: str | None) -> int:
    """The sources by URL (and any files) as one incremental sync; see index/ingestion/sources/sync.py."""
    from tqdm import tqdm

    from index.ingestion.sources.fetcher import Fetcher, FetchPolicy
    from index.ingestion.sources.sync import Sync, SyncBusy
    from index.storage.archive import ArchiveError, ModelMismatch
    from index.storage.postgres import ArchiveUnavailable, SchemaMismatch

    policy = FetchPolicy(
        per_host_concurrency=args.per_host,
        min_interval=args.interval,
        timeout=args.timeout,
        retries=args.retries,
        max_bytes=args.max_bytes,
    )
    with tqdm(unit="item", total=0, disable=True if args.no_progress else None, file=sys.stderr) as bar:

        def more(n: int) -> None:
            bar.total += n
            bar.refresh()

        sync = Sync(
            args.out,
            embedder,
            Fetcher(policy),
            since=since,
            batch_articles=args.batch_articles,
            workers=max(1, args.per_host) * 4,
            progress=bar.update,
            on_total=more,
            primary=_primary(args.archive),
        )
        try:
            report = sync.run(args.paths, args.feed, args.sitemap, args.wordpress)
        except SyncBusy as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (ArchiveError, ModelMismatch, ArchiveUnavailable, SchemaMismatch, OSError, sqlite3.Error) as exc:
            # Batches already committed stay (each is whole); the next sync goes on from there.
            print(f"error: {type(exc).__name__}: {exc}; batches written before it are kept", file=sys.stderr)
            return 1
    for item, reason in report.skipped:
        print(f"skipped {item}: {reason}", file=sys.stderr)
    print(report.summary())
    if not (Path(args.out) / "CURRENT").exists():
        print("error: nothing could be indexed yet; the service needs at least one article", file=sys.stderr)
        return 1
    return 0


def _on_ray(args: argparse.Namespace, stack: ExitStack) -> tuple[dict, str, tuple[type[Exception], ...]] | None:
    """The build's split and encode steps on the Ray cluster `--ray` names, connected (or started)
    until `stack` closes: (steps, what to tell the operator, Ray's errors), or None after saying why not."""
    try:
        from index.ingestion import ray_build
    except ImportError as exc:
        print(f"error: --ray needs the cluster extra (pip install -e '.[cluster]'): {exc}", file=sys.stderr)
        return None
    cpus = args.ray_actors * args.ray_actor_cpus if args.ray_actors else None
    try:
        resources = stack.enter_context(ray_build.ray_cluster(args.ray, cpus=cpus))
    except (RuntimeError, OSError, ValueError, *ray_build.RAY_ERRORS) as exc:
        print(f"error: cannot start or reach the Ray cluster {args.ray}: {exc}", file=sys.stderr)
        return None
    actors = args.ray_actors or max(1, int(resources.get("CPU", 1) // args.ray_actor_cpus))
    build = ray_build.RayBuild(
        embedder_options(args),
        actors=actors,
        actor_cpus=args.ray_actor_cpus,
        block_texts=args.ray_block_texts or ray_build.BLOCK_TEXTS,
    )
    where = f" on Ray ({args.ray}: {actors} actors × {args.ray_actor_cpus} CPUs)"
    return {"split": build.split, "encode": build.encode}, where, ray_build.RAY_ERRORS


def _print_problems(problems) -> None:
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
