"""The index build on a Ray cluster: Ray Data reads and splits the inputs, then a pool of actors embeds.

    with ray_cluster("local") as cluster:              # or "ray://head:10001", "auto", "head:6379"
        build = RayBuild(embedder_options, actors=2)
        build_index(paths, index_dir, embedder, split=build.split, encode=build.encode)

Two Ray Data pipelines, because what to embed depends on the archive, which only this
process reads and writes: (1) one task per input file reads it and splits its articles
into sentences (`index/ingestion/ingest.py`, `index/documents/sentences.py`, as a local build); the driver
then drops unchanged articles, sentences whose vectors are stored and repeated texts,
exactly as a local build does (`builder.prepare_articles`); (2) the texts left go in
blocks to a fixed pool of actors, each of which loads the embedder once (`load_embedder`,
the same backend, export and batch size as a local build) and embeds whole blocks. The
archive and the snapshot are written by the driver, as in a local build.

A remote cluster's nodes need this project and its locked packages installed, and the
inputs and the ONNX export readable at the same paths as on the driver.

Only `scripts/build_index.py --ray` imports this module: `import index` never needs ray.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import ray
import ray.data
import ray.exceptions

from index.documents.articles import Article
from index.documents.sentences import Sentence, article_sentences
from index.ingestion.ingest import IngestProblem, IngestResult, collect, iter_input_files, read_file

# Texts per block sent to an actor, and per call of its embedder (which batches them by its
# own batch size). Blocks are the unit of work an actor takes and of the progress bar: at the
# 100-400 sentences/s one actor embeds here, 512 texts are 1-5 s of work, so the bar moves
# every few seconds and 20k sentences make 40 blocks to share among the actors (chosen, not tuned).
BLOCK_TEXTS = 512
# The object store of a local cluster: blocks of texts and vectors stream through it and the
# driver takes them as they come, so it never holds a whole corpus; Ray's default would set
# aside 30% of the machine's memory, which it shares with other work.
LOCAL_OBJECT_STORE_BYTES = 1 << 30

# What a Ray failure looks like to the caller (an actor that cannot load the model, a lost node).
RAY_ERRORS: tuple[type[Exception], ...] = (ray.exceptions.RayError,)


@contextmanager
def ray_cluster(address: str, cpus: int | None = None) -> Iterator[dict[str, float]]:
    """Connect to the Ray cluster at `address` for the block, or start a local one with `cpus` CPUs
    (default: this machine's) when `address` is "local"; yields the cluster's resources."""
    options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if address == "local":
        options.update(
            num_cpus=cpus or os.cpu_count() or 1,
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        )
    else:
        options["address"] = address
    ray.init(**options)
    try:
        context = ray.data.DataContext.get_current()
        # The build has its own progress bar and report (scripts/build_index.py); Ray Data's
        # console lines (each pipeline's start and end, "progress bars disabled") would break it
        # up. They still go to ray-data.log in the session directory, and errors still show.
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        context.enable_auto_log_stats = False
        for handler in logging.getLogger("ray.data").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setLevel(logging.ERROR)
        yield ray.cluster_resources()
    finally:
        ray.shutdown()


def _read_and_split(row: dict[str, Any]) -> dict[str, Any]:
    """One input file → its articles, each with its sentences, and its problems (pickled: plain Python objects)."""
    items = [
        item if isinstance(item, IngestProblem) else (item, article_sentences(item))
        for item in read_file(Path(row["path"]))
    ]
    return {"file": row["file"], "items": pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)}


class _EmbedActor:
    """One loaded embedder, reused for every block this actor is given."""

    def __init__(self, embedder_options: dict[str, Any]):
        from index.retrieval.embedder import load_embedder

        self.embedder = load_embedder(**embedder_options)

    def __call__(self, block: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"i": block["i"], "vector": self.embedder.encode([str(t) for t in block["text"]])}


@dataclass
class RayBuild:
    """The split and encode steps of `builder.build_index`, run on the connected Ray cluster.

    `embedder_options` are `load_embedder`'s keyword arguments as the local build uses them
    (model_path, backend, onnx_dir, batch_size); each actor reserves `actor_cpus` CPUs and runs
    its model on that many threads, so actors × actor_cpus should not exceed the cluster's CPUs.
    """

    embedder_options: dict[str, Any]
    actors: int = 1
    actor_cpus: int = 1
    block_texts: int = BLOCK_TEXTS

    def split(self, paths: Iterable[str | Path]) -> tuple[IngestResult, list[tuple[Article, list[Sentence]]]]:
        """`builder.split_inputs`, one Ray task per input file."""
        files = [str(path) for path in iter_input_files(paths)]
        per_file: list[dict[str, Any]] = []
        if files:
            rows = [{"file": i, "path": path} for i, path in enumerate(files)]
            per_file = ray.data.from_items(rows, override_num_blocks=len(rows)).map(_read_and_split).take_all()
        items = [item for row in sorted(per_file, key=lambda r: r["file"]) for item in pickle.loads(row["items"])]
        # The same article in several inputs: the last copy wins, as `collect` keeps it.
        sentences = {a.id: its for a, its in (i for i in items if not isinstance(i, IngestProblem))}
        ingest = collect(i if isinstance(i, IngestProblem) else i[0] for i in items)
        return ingest, [(article, sentences[article.id]) for article in ingest.articles]

    def encode(self, texts: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`builder.EncodeTexts` on a pool of `actors` actors; blocks come back as they finish."""
        if not texts:
            return
        blocks = [
            pa.table(
                {
                    "i": np.arange(first, min(first + self.block_texts, len(texts))),
                    "text": texts[first : first + self.block_texts],
                }
            )
            for first in range(0, len(texts), self.block_texts)
        ]
        options = {**self.embedder_options, "threads": self.actor_cpus}
        vectors = ray.data.from_arrow(blocks).map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"embedder_options": options},
            batch_size=self.block_texts,
            batch_format="numpy",
            # A fixed pool; an actor without a block would only load the model.
            compute=ray.data.ActorPoolStrategy(size=min(self.actors, len(blocks))),
            num_cpus=self.actor_cpus,
        )
        for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
            yield batch["i"], np.asarray(batch["vector"], dtype=np.float32)
