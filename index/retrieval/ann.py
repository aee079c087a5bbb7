"""The FAISS vector index at any corpus size: which type, how to build, search and memory-map it.

Pure FAISS + numpy (no Flask, no model), for `index/ingestion/builder.py` and `index/verify.py`.
Vectors are normalised sentence embeddings, so inner product is cosine.

- Up to `FLAT_MAX_VECTORS` vectors: exact search, `IndexIDMap2(IndexFlatIP)` (spec
  `"IDMap2,Flat"`), what the builder makes today.
- Above: IVF-Flat (spec `"IVF<nlist>,Flat"`, nlist a power of two near 4·sqrt(n)),
  searched with `default_nprobe(nlist)` lists. The sentence ids live in the inverted lists
  themselves (64-bit, any values) and a hashtable direct map makes `reconstruct(id)`,
  `remove_ids` and `add_with_ids` work by sentence id.
- From `REFINE_MIN_VECTORS` on (past RAM): IVF-PQ with a refine step (spec
  `"IVF<nlist>,PQ<m>,RFlat"`, FAISS `IndexRefineFlat` inside an `IndexIDMap`). The lists
  hold `REFINE_PQ_M`-byte product-quantised codes, which find `REFINE_K_FACTOR` × k
  candidates; those are re-ranked by exact inner product against the full vectors, which
  sit in the same file and, memory-mapped, are read from disk only for the candidates. So
  the scores returned are exact cosines, as with IVF-Flat. What every search reads is the
  codes and ids (~110 bytes a vector, 7% of IVF-Flat's 1.57 KB); the full vectors are read
  100 a query (k = 50, k_factor 2), from the page cache when there is room and from disk
  when there is not. Built once and searched, not edited in place (the service rebuilds,
  `index/retrieval/live.py`), so it keeps no reverse id map and has no `reconstruct`.

Both keep the ids through deletes and additions (FAISS `remove_ids`, `add_vectors`;
`tests/index/retrieval/test_ann.py`), so an index could be edited in place; the service rebuilds instead
and overlays newer writes (`index/retrieval/live.py`).

Not chosen, and why (numbers in BENCHMARKS.md, "Vector index at scale"):
- `IndexIDMap2` around an IVF index: `IndexIDMap.remove_ids` assumes the inner index
  renumbers what is left, as Flat does; IVF does not, so after a delete searches return
  -1 or the wrong ids (tried on faiss 1.15.1).
- HNSW: `remove_ids` is not implemented; deletes would need tombstones (an IDSelector
  excluding deleted ids at every search, and a rebuild once they pile up). At 1M vectors
  HNSW32 with the default efConstruction 40 (235 s to build) stopped at recall@10 0.80;
  efConstruction 100 reached 0.978 at efSearch 256 (1.1 ms) but took 704 s to build,
  against 94 s for IVF-Flat (0.997 at nprobe 64, 1.1 ms), on the clustered benchmark set.
- IVF-SQ8: meets the recall bar, but holds 26% of IVF-Flat (384 bytes a vector), and all of
  it is read by searches. IVF-PQ alone: recall@10 0.48-0.57 at any nprobe (the compressed
  distances limit it); with the refine step it keeps IVF-Flat's recall.

Memory-mapping: `read_vector_index(path, mmap=True)` reads with `IO_FLAG_MMAP_IFC`, so the
vectors (Flat codes, IVF inverted lists) stay in the file's page cache, shared by every
worker process, instead of one private copy per worker. What each process still holds
privately is the id bookkeeping (IDMap2's reverse map, IVF's direct map: roughly 40-50
bytes per vector). A memory-mapped index is read-only: FAISS *aborts the process*
(SIGSEGV/SIGABRT, not an exception) if one is modified, so the mutators here refuse it
with `ReadOnlyIndex`. Modify a normally read copy, write it with `write_vector_index`
(new file renamed into place, so processes mapping the old file keep a valid mapping),
and have the workers reopen it.
"""

from __future__ import annotations

import math
import os
import re
import uuid
import weakref
from pathlib import Path

import faiss
import numpy as np

from index.common.fileio import fsync_path

# Exact search up to this many vectors. Measured with benchmarks/faiss_scale.py
# --threshold-sizes 10k,20k,50k,100k,200k,400k (BENCHMARKS.md, "Vector index at scale"): one
# exact 50-deep query on one FAISS thread costs ~0.055 µs of CPU per vector: 2.8 ms at 50k,
# 5.6 ms at 100k, 11.8 ms at 200k, 27 ms at 400k, against ~12 ms for a whole verify_claim call
# (docs/speed.md). Up to 50k it stays under a quarter of a request and recall is exact;
# beyond, IVF-Flat answers in 0.1-0.3 ms at recall@10 ≥ 0.98 and k-means takes seconds.
FLAT_MAX_VECTORS = 50_000

FLAT_SPEC = "IDMap2,Flat"
# nlist ≈ 4·sqrt(n), a power of two: ~100-600 vectors per list from 50k to 5M vectors.
LISTS_PER_SQRT_N = 4
# k-means sample per list (FAISS warns below 39); 40 × 8192 lists = 328k vectors at 5M.
TRAIN_VECTORS_PER_LIST = 40
# Lists searched per query: nlist / 64 (at least 16). Measured with benchmarks/faiss_scale.py on
# the synthetic clustered set, 50 deep: recall@10 0.981 at 50k (16 of 1024 lists), 0.983 at 100k
# (16 of 1024), 0.992 at 200k (32 of 2048), 0.997 at 1M (64 of 4096, p50 1.1 ms) and 0.999 at
# 5M (128 of 8192, p50 5.2 ms). Half of that missed the bar at 1M (0.949 at nprobe 32) and
# left less margin at 5M (0.975 at 64). Check on real embeddings (`faiss_scale.py --vectors`).
NPROBE_FRACTION = 1 / 64
MIN_NPROBE = 16

# IVF-PQ + refine from this many vectors on. Measured with benchmarks/faiss_scale.py (BENCHMARKS.md,
# "Vector index past RAM"), one query at a time, 50 deep, against IVF-Flat at the same nprobe:
# at 100k it is slower warm (p50 0.18 against 0.15 ms) and 3× slower to build (7.6 against 2.3 s);
# at 1M it is faster warm (0.83 against 1.00 ms) at the same recall@10 (0.997), builds in 1.3× the
# time (56 against 42 s, beside ~45 min of embedding), and with memory capped at a quarter of
# IVF-Flat's file it answers fresh queries in 9.4 ms where IVF-Flat takes 368 ms.
REFINE_MIN_VECTORS = 1_000_000
# Bytes per vector in the lists (384-d: 4 dimensions a byte). At 1M, 50 deep: PQ96 reaches
# recall@10 0.994 re-ranking only the 50 it returns and 0.997 at k_factor 2; PQ48 needs k_factor
# 4 for 0.981 (0.941 at 2), so twice the full vectors read per query for less recall.
REFINE_PQ_M = 96
REFINE_K_FACTOR = 2  # candidates re-ranked on full vectors: this many × the depth asked for

_CHUNK = 65_536  # vectors added per call, so temporary buffers stay small
_IVF_SPEC = re.compile(r"^IVF(\d+),(Flat|SQ8|PQ(\d+),RFlat)$")
_MAPPED: weakref.WeakSet = weakref.WeakSet()


class ReadOnlyIndex(ValueError):
    """The index is memory-mapped; FAISS would crash the process if it were modified."""


def choose_index_spec(n_vectors: int, flat_max: int | None = None, refine_min: int | None = None) -> str:
    """The index type for a corpus of `n_vectors`: exact up to `flat_max`, IVF-Flat above,
    IVF-PQ with a refine step on full vectors from `refine_min` on (defaults: the module's
    thresholds, read at each call)."""
    flat_max = FLAT_MAX_VECTORS if flat_max is None else flat_max
    refine_min = REFINE_MIN_VECTORS if refine_min is None else refine_min
    if n_vectors <= flat_max:
        return FLAT_SPEC
    if n_vectors >= refine_min:
        return f"IVF{nlist_for(n_vectors)},PQ{REFINE_PQ_M},RFlat"
    return f"IVF{nlist_for(n_vectors)},Flat"


def nlist_for(n_vectors: int) -> int:
    """About 4·sqrt(n) inverted lists, a power of two (at least 16)."""
    return max(16, 2 ** round(math.log2(LISTS_PER_SQRT_N * math.sqrt(max(n_vectors, 1)))))


def default_nprobe(nlist: int) -> int:
    return min(nlist, max(MIN_NPROBE, round(nlist * NPROBE_FRACTION)))


def new_exact_index(dimension: int) -> faiss.Index:
    """An empty exact index (`FLAT_SPEC`): inner product over normalised vectors (= cosine), our 64-bit ids."""
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def build_vector_index(vectors: np.ndarray, ids: np.ndarray, spec: str, seed: int = 1234) -> faiss.Index:
    """An index over `vectors` (n × d float32, normalised) answering with `ids` (n distinct int64).

    `spec` is `"IDMap2,Flat"`, `"IVF<nlist>,Flat"`, `"IVF<nlist>,SQ8"` or
    `"IVF<nlist>,PQ<m>,RFlat"` (see `choose_index_spec`). IVF trains its lists (and PQ its
    codebooks) on a seeded sample of `TRAIN_VECTORS_PER_LIST` vectors per list.
    """
    vectors, ids = _checked(vectors, ids)
    n, d = vectors.shape
    match = _IVF_SPEC.match(spec)
    if spec == FLAT_SPEC:
        index = new_exact_index(d)
    elif match:
        nlist = int(match.group(1))
        if n < nlist:
            raise ValueError(f"{spec} needs at least {nlist} vectors to train its lists, got {n}")
        refined = match.group(3) is not None
        # With a refine step the ids go in an IDMap: IndexRefine answers with row numbers.
        index = faiss.index_factory(d, f"IDMap,{spec}" if refined else spec, faiss.METRIC_INNER_PRODUCT)
        ivf = _ivf(index)
        ivf.cp.seed = seed
        train = min(n, TRAIN_VECTORS_PER_LIST * nlist)
        rows = np.sort(np.random.default_rng(seed).choice(n, size=train, replace=False)) if train < n else slice(None)
        if refined:
            # The factory turns on polysemous training (Hamming filtering, unused by inner-product
            # search): 85 s of an 87 s build at 20k vectors (benchmarks/faiss_scale.py).
            ivf.do_polysemous_training = False
            faiss.downcast_index(index.index).k_factor = REFINE_K_FACTOR
        index.train(np.ascontiguousarray(vectors[rows]))
        if not refined:
            # reconstruct(id) and remove_ids by arbitrary 64-bit id; kept up to date by add/remove.
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
    else:
        raise ValueError(
            f"unsupported index spec {spec!r}; use {FLAT_SPEC!r}, 'IVF<nlist>,Flat' or 'IVF<nlist>,PQ<m>,RFlat'"
        )
    for first in range(0, n, _CHUNK):
        index.add_with_ids(vectors[first : first + _CHUNK], ids[first : first + _CHUNK])
    return configure_search(index)


def configure_search(index: faiss.Index) -> faiss.Index:
    """Set the search breadth: `default_nprobe(nlist)` lists for IVF."""
    ivf = _ivf(index)
    if ivf is not None:
        ivf.nprobe = default_nprobe(ivf.nlist)
    return index


def write_vector_index(index: faiss.Index, path: str | Path) -> None:
    """Write to a new file and rename it over `path` (fsync'd).

    Never in place: processes that memory-mapped the old file keep reading the old inode,
    where overwriting it would change (or truncate, SIGBUS) the pages under them.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        faiss.write_index(index, str(tmp))
        fsync_path(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_vector_index(path: str | Path, mmap: bool = False) -> faiss.Index:
    """Read an index; `mmap=True` maps its vectors from the file (shared page cache, read-only)."""
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
    index = configure_search(faiss.read_index(str(path), flags))
    if mmap:
        _MAPPED.add(index)
    return index


def excluding(index: faiss.Index, ids: np.ndarray) -> tuple[faiss.SearchParameters | None, tuple]:
    """Search parameters for `index` that skip these ids (None when there are none), and the
    selectors they point to, which the caller must keep alive as long as the parameters
    (FAISS holds raw pointers)."""
    if not len(ids):
        return None, ()
    batch = faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))
    excluded = faiss.IDSelectorNot(batch)
    return search_parameters(index, excluded), (batch, excluded)


def search_parameters(
    index: faiss.Index, selector: faiss.IDSelector, exhaustive: bool = False
) -> faiss.SearchParameters:
    """Search parameters restricting `index` to `selector`, keeping its search breadth.

    `exhaustive`: for IVF, probe every list, so a narrow filter (a few articles) still finds
    its sentences wherever they are; the selector skips the rest cheaply."""
    ivf = _ivf(index)
    if ivf is None:
        return faiss.SearchParameters(sel=selector)
    nprobe = ivf.nlist if exhaustive else ivf.nprobe
    refine = _refine(index)
    if refine is None:
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
    # The lists under a refine step hold row numbers, not sentence ids: the selector is
    # translated through the IDMap's id_map and handed to the IVF search inside.
    translated = faiss.IDSelectorTranslated(faiss.downcast_index(index).id_map, selector)
    base = faiss.SearchParametersIVF(sel=translated, nprobe=nprobe)
    params = faiss.IndexRefineSearchParameters(k_factor=refine.k_factor, base_index_params=base)
    params.referenced_objects = [translated, base, selector]  # FAISS holds raw pointers
    return params


def is_memory_mapped(index: faiss.Index) -> bool:
    return index in _MAPPED


def add_vectors(index: faiss.Index, vectors: np.ndarray, ids: np.ndarray) -> None:
    """Add vectors under new ids (ids already in the index would be answered twice: use replace)."""
    _writable(index)
    vectors, ids = _checked(vectors, ids)
    for first in range(0, len(ids), _CHUNK):
        index.add_with_ids(vectors[first : first + _CHUNK], ids[first : first + _CHUNK])


def _writable(index: faiss.Index) -> None:
    if is_memory_mapped(index):
        raise ReadOnlyIndex("this index is memory-mapped (read-only); modify a copy read with mmap=False")


def _unwrapped(index: faiss.Index) -> faiss.Index:
    index = faiss.downcast_index(index)
    while isinstance(index, faiss.IndexIDMap | faiss.IndexIDMap2):
        index = faiss.downcast_index(index.index)
    return index


def _refine(index: faiss.Index) -> faiss.IndexRefine | None:
    inner = _unwrapped(index)
    return inner if isinstance(inner, faiss.IndexRefine) else None


def _ivf(index: faiss.Index) -> faiss.IndexIVF | None:
    """The IVF index inside `index` (under an IDMap and a refine step), if any."""
    inner = _unwrapped(index)
    if isinstance(inner, faiss.IndexRefine):
        inner = faiss.downcast_index(inner.base_index)
    return inner if isinstance(inner, faiss.IndexIVF) else None


def _checked(vectors: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if vectors.ndim != 2 or ids.shape != (len(vectors),):
        raise ValueError(f"need an n × d array of vectors and n ids, got {vectors.shape} and {ids.shape}")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("ids must be distinct")
    return vectors, ids
