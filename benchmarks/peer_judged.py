"""The same-work peer of `serving_load.py`: txtai's hybrid search, then the same int8 judge on
each of its top 3 passages: a search engine and an NLI model put together, as Quin does.

Served as txtai's own API is (`uvicorn benchmarks.peer_judged:app --workers N`), one txtai
index and one judge session (1 thread, no cache: it reads every pair) per worker, loaded
after the fork. GET /search?query=…&limit=5 answers txtai's results, the top 3 each with the
judge's reading (entailment, neutral, contradiction). PEER_INDEX names the saved txtai index;
PEER_CONFIG is the txtai config (JSON) it was built with.

    PEER_INDEX=var/bench/txtai-ivf-100k-s11 PEER_CONFIG=… uvicorn benchmarks.peer_judged:app
"""

from __future__ import annotations

import json
import os
import threading

from fastapi import FastAPI

JUDGED = 3  # passages the judge reads, as ours reads up to 3 (docs/api.md, "The judge")

app = FastAPI()
_state: dict = {}
_loading = threading.Lock()
# txtai's own API searches under one lock per index (txtai/app/base.py: its SQLite content store
# refuses concurrent cursors); the judge reads outside it, as ours does.
_search_lock = threading.RLock()


def _loaded() -> tuple:
    with _loading:
        return _load()


def _load() -> tuple:
    if not _state:
        from txtai import Embeddings

        from index.judging.nli import load_nli

        embeddings = Embeddings(json.loads(os.environ["PEER_CONFIG"]))
        embeddings.load(os.environ["PEER_INDEX"])
        _state["embeddings"] = embeddings
        _state["judge"] = load_nli(threads=1, cache_pairs=0)
    return _state["embeddings"], _state["judge"]


@app.get("/search")
def search(query: str, limit: int = 5) -> list[dict]:
    embeddings, judge = _loaded()
    with _search_lock:
        hits = embeddings.search(query, limit)
    readings = judge.score([(hit["text"], query) for hit in hits[:JUDGED]])
    for hit, reading in zip(hits, readings, strict=False):
        hit["stance"] = {
            "entailment": float(reading.entailment),
            "neutral": float(reading.neutral),
            "contradiction": float(reading.contradiction),
        }
    return hits
