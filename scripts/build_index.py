"""Build (or rebuild) the claim index from article files and folders.

    python scripts/build_index.py --out var/index data/articles more.jsonl

Articles are added to (or replaced in) the index directory's archive in one
transaction; articles whose content is unchanged are not embedded again, and
articles added over HTTP are kept. A new snapshot then becomes live atomically,
and a running service picks it up on its next request. A crash leaves the
previous state untouched. Skipped inputs are reported as `path:line: reason`;
the exit status is 1 if nothing was indexed.

    python scripts/build_index.py --out var/index --ray local data/articles   # or --ray ADDRESS

`--ray` reads, splits and embeds on a Ray cluster (index/ray_build.py; the `cluster` extra),
`local` starting one on this machine for the run; this process still writes the index.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from embedder_options import add_embedder_options, embedder_options, load_embedder_from_options  # beside this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the claim index from article files and folders.")
    parser.add_argument("paths", nargs="+", help="article files (.txt, .md, .jsonl) or folders")
    parser.add_argument("--out", required=True, help="index directory (e.g. var/index)")
    add_embedder_options(parser)
    parser.add_argument("--batch-size", type=int, default=64)
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

    from tqdm import tqdm

    from index.builder import NothingToIndex, build_index

    embedder = load_embedder_from_options(args, batch_size=args.batch_size)
    if embedder is None:
        return 1
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

            report = build_index(args.paths, args.out, embedder, progress=bar.update, on_total=on_total, **steps)
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


def _on_ray(args: argparse.Namespace, stack: ExitStack) -> tuple[dict, str, tuple[type[Exception], ...]] | None:
    """The build's split and encode steps on the Ray cluster `--ray` names, connected (or started)
    until `stack` closes: (steps, what to tell the operator, Ray's errors), or None after saying why not."""
    try:
        from index import ray_build
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
        embedder_options(args, batch_size=args.batch_size),
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
