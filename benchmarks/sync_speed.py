"""Sync speed: pages a second through `build_index.py`'s sync (index/ingestion/sources/sync.py) against a
local server on this machine: a first sync, an unchanged re-sync, and a re-sync after one page was
added to the sitemap (every other page asked conditionally, each answering 304).

The server (tests/index/ingestion/sources_testing.py, the tests' own) serves N news pages as CMSs render them
(navigation, adverts, captions, related links, JSON-LD; 12 sentences of story each) with ETags,
listed in one sitemap. The fetcher's politeness is set for a local server (no interval between
requests, `--per-host` at once): against a real site the defaults (0.5 s apart, 2 at once)
bound a sync at about 2–4 pages a second by design, whatever this machine could do.

    .venv/bin/python benchmarks/sync_speed.py --pages 300            # fetch, extract, write (no model)
    .venv/bin/python benchmarks/sync_speed.py --pages 300 --model    # and embed with the served ONNX model
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, command, ensure_onnx_export, log, machine, table

sys.path.insert(0, str(ROOT / "tests" / "index" / "ingestion"))  # the tests' local server and pages


def run(pages: int, per_host: int, model: bool) -> list[tuple]:
    from sources_testing import HTML, LocalSite, Reply, TextHashEmbedder, article_page, story, urlset

    from index.ingestion.sources.fetcher import Fetcher, FetchPolicy
    from index.ingestion.sources.sync import Sync

    if model:
        ensure_onnx_export()
        from index.retrieval.embedder import load_embedder

        embedder, embedder_name = load_embedder(), "ONNX all-MiniLM-L6-v2 (served)"
    else:
        embedder, embedder_name = TextHashEmbedder(), "none (a text hash)"
    rows = []
    with LocalSite() as site, tempfile.TemporaryDirectory() as tmp:
        site.routes["/robots.txt"] = Reply(404)
        for n in range(pages):
            html = article_page(f"Story {n}", story(n, 12), canonical=site.url(f"/news/{n}"))
            site.routes[f"/news/{n}"] = Reply(200, html, HTML, etag=f'"{n}"')
        site.routes["/sitemap.xml"] = urlset(site, [(f"/news/{n}", None) for n in range(pages)])
        policy = FetchPolicy(min_interval=0.0, per_host_concurrency=per_host)
        runs = (
            "first sync",
            "unchanged re-sync (the sitemap answers 304)",
            "one page added to the sitemap (the rest 304)",
        )
        for label in runs:
            if label.startswith("one page added"):
                html = article_page("Story new", story(pages, 12), canonical=site.url("/news/new"))
                site.routes["/news/new"] = Reply(200, html, HTML, etag='"new"')
                site.routes["/sitemap.xml"] = urlset(site, [(f"/news/{n}", None) for n in [*range(pages), "new"]])
            started = time.perf_counter()
            report = Sync(Path(tmp), embedder, Fetcher(policy), workers=per_host * 2).run(
                sitemap_urls=[site.url("/sitemap.xml")]
            )
            seconds = time.perf_counter() - started
            log(f"{label}: {report.summary()}")
            rows.append(
                (label, embedder_name, pages, report.created + report.updated, report.fetched,
                 sum(report.requests.values()), f"{seconds:.1f}", f"**{pages / seconds:.1f}**")
            )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--per-host", type=int, default=4, help="requests at once to the local server")
    parser.add_argument("--model", action="store_true", help="embed with the served ONNX model too")
    args = parser.parse_args(argv)
    print(machine())
    print(command())
    rows = run(args.pages, args.per_host, model=False)
    if args.model:
        rows += run(args.pages, args.per_host, model=True)
    header = "run | embedder | pages | articles written | downloaded | requests | seconds | pages/s"
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
