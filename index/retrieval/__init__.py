"""Retrieval: from a text to its nearest archive sentences, dense and lexical, over the live index.
Imports `index.common`, `index.documents` and `index.storage` (to read the archive).

    embedder.py     sentence vectors: torch or ONNX Runtime (onnx_export.py makes the graph)
    onnx_export.py  the embedder's ONNX export, fp32 and int8
    batching.py     concurrent requests share one model call (embedder and judge)
    ann.py          the FAISS vector index: exact up to 50k vectors, IVF-Flat above
    lexical.py      BM25 over the sentences, and rank fusion with the dense results
    live.py         LiveIndex: the last snapshot plus the archive's newer writes, per request
"""
