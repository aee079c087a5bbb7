"""Storage: where the archive lives and how a snapshot of it is published.
Imports `index.common` and `index.documents`; never retrieval, judging or anything above.

    archive.py    the versioned SQLite source of truth: articles, sentences, vectors (or a host's replica)
    postgres.py   the shared archive in PostgreSQL (ARCHIVE_URL), its migrations, following its log
    layout.py     snapshot directories, checksums, atomic publish
"""
