"""Ingestion: from files and the web to an index (article -> sentences -> vectors -> index).
Imports `index.common`, `index.documents`, `index.storage` and `index.retrieval`; no judging.

    ingest.py     read articles from files and directories (text, JSONL, HTML)
    sources/      bring an archive in by URL: HTML extraction, the polite fetcher, RSS/Atom,
                  sitemaps, the WordPress API, and the incremental sync (build_index.py --feed …)
    builder.py    build_index / write_snapshot: reading, splitting, embedding, publishing
    ray_build.py  the same build's reading, splitting and embedding on a Ray cluster (`--ray`)
"""
