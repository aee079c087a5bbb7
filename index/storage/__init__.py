"""Storage: where the archive lives and how a snapshot of it is published.
Imports `index.common` and `index.documents`; never retrieval, judging or anything above.

    archive.py    the versioned SQLite source of truth: articles, sentences, vectors
    layout.py     snapshot directories, checksums, atomic publish
"""
