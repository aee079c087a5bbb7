"""The engine: articles in, verdicts out. No Flask here; `service/` is a thin shell around it.

The files by stage, in the order data flows:

Building (article -> sentences with offsets -> vectors -> index)
    articles.py     parse an article (title, url, date, body) and its id
    ingest.py       read articles from files and directories (text, JSONL, HTML)
    sources/        bring an archive in by URL: HTML extraction, the polite fetcher, RSS/Atom,
                    sitemaps, the WordPress API, and the incremental sync (build_index.py --feed …)
    sentences.py    split a body into sentences with character offsets
    embedder.py     sentence vectors: torch or ONNX Runtime (onnx_export.py makes the graph)
    batching.py     concurrent requests share one model call (embedder and judge)
    archive.py      the versioned SQLite source of truth: articles, sentences, vectors
    ann.py          the FAISS vector index: exact up to 50k vectors, IVF-Flat above
    lexical.py      BM25 over the sentences, and rank fusion with the dense results
    layout.py       snapshot directories, checksums, atomic publish
    builder.py      build_index / write_snapshot: the above, end to end
    ray_build.py    the same build's reading, splitting and embedding on a Ray cluster (`--ray`)
    writer.py       ArticleWriter: add, replace and delete articles in a live index
    live.py         LiveIndex: the last snapshot plus the archive's newer writes, per request
    fileio.py       hashes and durable (fsync'd, atomic) writes

Verifying (claim -> vector -> candidates -> judge -> verdict)
    verify.py       ClaimVerifier: retrieve, judge, decide, with provenance
    checks.py       claim-vs-sentence checks that explain (figures, dates, names, negation)
    nli.py          the NLI judge on ONNX Runtime (nli_export.py makes the graph)
    stance.py       every verdict rule: judge cut-offs, vetoes, verdict, confidence
    reviews/        the newsroom's reviews: stored, imported (ClaimReview), matched to each claim

Measuring
    evaluation.py   claim sets, the dev fact sets, fitting the verdict's numbers
    metrics.py      F1, balanced accuracy, calibration error, isotonic and temperature fits
    observe.py      what the engine reports as it works (step times, model calls), for /metrics
"""
