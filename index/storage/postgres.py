"""`PostgresArchive`: the shared archive in PostgreSQL (`ARCHIVE_URL`), which every host follows.

One archive, several hosts. PostgreSQL holds what `archive.sqlite` holds for one machine:
articles, sentences with their vectors, reviews and marks, the sync's state and the
generation log (migrations/). Each host keeps `INDEX_DIR/archive.sqlite` as its *replica*
and its snapshots (FAISS, BM25) as today:

    write (any host)  → one PostgreSQL transaction under one advisory lock → NOTIFY
    every host        → LISTEN (or a poll) → `pull`: the rows of the generations it has
                        not seen, copied into its replica in one local transaction
    every request     → the local replica and snapshot only (live.py), so a host keeps
                        answering reads while PostgreSQL is away

Writers take `pg_advisory_xact_lock` before allocating a generation, so generations (and
sentence ids, the FAISS ids on every host) commit in order: a host that has applied
generation g has every change up to g, and a pull of (g, max] in one REPEATABLE READ
transaction is exactly the changes since. The host that wrote pulls at once, so its
own write is visible on its next request; the others within a notification's delay.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # the highest file in migrations/ this release knows
CHANNEL = "claimcheck_archive"  # NOTIFY channel: a write committed (payload: its generation)


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(f"claimcheck {name}".encode()).digest()[:8], "big", signed=True)


WRITE_LOCK = _lock_key("archive writer")  # one writer at a time: generations commit in order
SYNC_LOCK = _lock_key("source sync")  # one sync at a time across every host
MIGRATE_LOCK = _lock_key("schema migration")

# Operational defaults (Settings: ARCHIVE_POOL_MAX, ARCHIVE_STATEMENT_TIMEOUT_MS, ARCHIVE_POLL_SECONDS).
DEFAULT_POOL_MAX = 4  # per worker: writes are serialised anyway; pulls and reads of the sync state
DEFAULT_STATEMENT_TIMEOUT_MS = 30_000  # no statement holds a connection (or the write lock) longer
DEFAULT_POLL_SECONDS = 5.0  # pull even without a notification (a lost one, a LISTEN reconnecting)
CONNECT_TIMEOUT_SECONDS = 5
POOL_WAIT_SECONDS = 3.0  # a write waiting this long for a connection answers 503 (a thread held no longer)


class ArchiveUnavailable(RuntimeError):
    """The shared archive cannot be reached (or did not answer in time): retry later.
    The message never holds the password."""


class SchemaMismatch(RuntimeError):
    """The shared archive's schema is not the one this release reads; the message names the fix."""


class ReplicaMismatch(RuntimeError):
    """This host's replica is not a replica of this primary (another archive, or ahead of it)."""


def redact(url: str) -> str:
    """The connection string without its password, fit for logs, `/v1/index` and errors."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparseable connection string)"
    user = params.get("user", "")
    host = params.get("host", "")
    port = params.get("port", "")
    where = f"{host}:{port}" if port else host
    return f"postgresql://{user + '@' if user else ''}{where}/{params.get('dbname', '')}"


def _password(url: str) -> str | None:
    try:
        return conninfo.conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        match = re.search(r"://[^:/@]*:([^@]*)@", url)
        return match.group(1) if match else None


@lru_cache(maxsize=256)
def _pg_sql(query: str) -> str:
    """The archive's SQLite-style SQL (`?` placeholders) for psycopg (`%s`)."""
    return query.replace("%", "%%").replace("?", "%s")


class PortableConnection:
    """A psycopg connection that runs the archive's SQL as written for SQLite (`?` placeholders,
    `ON CONFLICT … DO …`, `RETURNING`), so one body of write code serves both backends."""

    def __init__(self, conn: psycopg.Connection):
        self.raw = conn

    def execute(self, query: str, params=()) -> psycopg.Cursor:
        return self.raw.execute(_pg_sql(query), params)

    def executemany(self, query: str, rows) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(_pg_sql(query), list(rows))
        return cursor


@dataclass(frozen=True)
class PullResult:
    before: int  # the replica's generation before
    after: int  # and after
    rows: int  # rows copied or updated


# What a replica copies, per table: the column that says in which generation a row appeared,
# and the one that says when it stopped being live (None: rows change only by replacement).
_REPLICATED = (
    ("changes", "generation", None, "generation"),
    ("articles", "updated", None, "id"),
    ("sentences", "added", "retired", "id"),
    ("reviews", "added", "retired", "seq"),
    ("review_marks", "added", None, None),
)
PULL_BATCH_ROWS = 5000


class PostgresArchive:
    """The primary: a pool of connections to the shared archive."""

    def __init__(
        self,
        url: str,
        pool_max: int = DEFAULT_POOL_MAX,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        pool_wait_seconds: float = POOL_WAIT_SECONDS,
    ):
        self.url = url
        self.pool_wait_seconds = pool_wait_seconds
        self.display = redact(url)
        self._password = _password(url)
        self.poll_seconds = poll_seconds
        self.statement_timeout_ms = statement_timeout_ms
        try:
            conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise ValueError(f"ARCHIVE_URL is not a PostgreSQL connection string: {self.scrub(str(exc))}") from None
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, pool_max),
            timeout=pool_wait_seconds,
            kwargs=self._connect_options(),
            check=ConnectionPool.check_connection,  # a connection broken by a restart is replaced, not used
            name="archive",
            open=False,
        )
        self._pool.open(wait=False)
        self.last_error: str | None = None

    def _connect_options(self) -> dict:
        timeout = int(self.statement_timeout_ms)
        return {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "claimcheck",
            # A statement, or a wait for the write lock, longer than this fails (503) instead of
            # holding a worker thread and a connection.
            "options": f"-c statement_timeout={timeout} -c lock_timeout={timeout}",
        }

    def close(self) -> None:
        self._pool.close()

    def scrub(self, text: str) -> str:
        """`text` with the password, if it appears, replaced."""
        return text.replace(self._password, "***") if self._password else text

    def _unavailable(self, exc: BaseException) -> ArchiveUnavailable:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        self.last_error = self.scrub(f"{type(exc).__name__}: {first}")
        return ArchiveUnavailable(f"the shared archive {self.display} is unavailable: {self.last_error}")

    # ---- connections ----------------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled connection; any failure to reach PostgreSQL raises `ArchiveUnavailable`."""
        # Known to be down: fail fast (a write answers 503 in a second, not after the full wait).
        wait = min(1.0, self.pool_wait_seconds) if self.last_error else self.pool_wait_seconds
        try:
            with self._pool.connection(timeout=wait) as conn:
                yield conn
        except PoolTimeout:
            raise self._unavailable(self._why_no_connection()) from None
        except psycopg.OperationalError as exc:
            raise self._unavailable(exc) from None
        self.last_error = None

    def _why_no_connection(self) -> BaseException:
        """The pool only says it timed out; one direct attempt says why (refused, wrong password…)."""
        try:
            psycopg.connect(self.url, **self._connect_options()).close()
        except psycopg.Error as exc:
            return exc
        return PoolTimeout(f"all {self._pool.max_size} connections of the pool are busy")

    @contextmanager
    def write_transaction(self) -> Iterator[PortableConnection]:
        """BEGIN; the write lock; … ; NOTIFY; COMMIT. Durable once it returns (synchronous_commit)."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield PortableConnection(conn)
            generation = conn.execute("SELECT coalesce(max(generation), 0) FROM changes").fetchone()[0]
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(generation)))

    @contextmanager
    def read(self) -> Iterator[PortableConnection]:
        with self.connection() as conn, conn.transaction():
            yield PortableConnection(conn)

    @contextmanager
    def session_lock(self, key: int, busy_message: str) -> Iterator[None]:
        """A lock held for a whole job (the sync) on its own connection; `RuntimeError` if taken."""
        with self.connection() as conn:
            conn.autocommit = True
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                raise LockBusy(busy_message)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # ---- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.connection() as conn:
            exists = conn.execute("SELECT to_regclass('claimcheck_schema') IS NOT NULL").fetchone()[0]
            if not exists:
                return 0
            return int(conn.execute("SELECT coalesce(max(version), 0) FROM claimcheck_schema").fetchone()[0])

    def check_schema(self) -> None:
        """`SchemaMismatch` with one line naming the fix unless the schema is this release's."""
        found = self.schema_version()
        if found < SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the shared archive {self.display} has schema version {found}, this release needs "
                f"{SCHEMA_VERSION}: run scripts/archive_schema.py --upgrade (with ARCHIVE_URL set)"
            )
        if found > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the shared archive {self.display} has schema version {found}, newer than this "
                f"release's {SCHEMA_VERSION}: deploy the release that migrated it"
            )

    def migrate(self) -> list[int]:
        """Apply every migration newer than the archive's schema, each in its own transaction."""
        applied = []
        with self.connection() as conn:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS claimcheck_schema "
                    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            for version, script in migrations():
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
                    done = conn.execute("SELECT 1 FROM claimcheck_schema WHERE version = %s", (version,)).fetchone()
                    if done:
                        continue
                    conn.execute(script)
                    conn.execute("INSERT INTO claimcheck_schema (version) VALUES (%s)", (version,))
                    if version == 1:
                        conn.execute("INSERT INTO meta VALUES ('archive_id', %s)", (uuid.uuid4().hex,))
                    applied.append(version)
        return applied

    # ---- reads ----------------------------------------------------------------------------

    def generation(self) -> int:
        with self.connection() as conn:
            return int(conn.execute("SELECT coalesce(max(generation), 0) FROM changes").fetchone()[0])

    def archive_id(self) -> str | None:
        with self.connection() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'archive_id'").fetchone()
            return row[0] if row else None

    def compact(self, keep_generations: int) -> dict[str, int]:
        """Empty the text and vectors of rows retired more than `keep_generations` ago (and the
        bodies of articles deleted as long ago); rows per table. Each row itself stays (ids,
        `added`, `retired`: some 60 bytes), so a host however far behind still learns what was
        retired: no host ever needs more than the log to catch up. VACUUM then reuses the space."""
        compacted: dict[str, int] = {}
        with self.write_transaction() as conn:
            horizon = conn.execute("SELECT coalesce(max(generation), 0) FROM changes").fetchone()[0] - keep_generations
            compacted["sentences"] = conn.execute(
                "UPDATE sentences SET vector = ?, text = '' WHERE retired <= ? AND length(vector) > 0", (b"", horizon)
            ).rowcount
            compacted["reviews"] = conn.execute(
                "UPDATE reviews SET vector = ? WHERE retired <= ? AND length(vector) > 0", (b"", horizon)
            ).rowcount
            compacted["articles"] = conn.execute(
                "UPDATE articles SET body = '' WHERE deleted <= ? AND body <> ''", (horizon,)
            ).rowcount
        return compacted

    # ---- the replica ----------------------------------------------------------------------

    def pull(self, local: sqlite3.Connection) -> PullResult:
        """Copy every change the replica behind `local` has not seen; run it inside the
        replica's write transaction (`Archive.follow`), so it applies whole or not at all."""
        row = local.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        have = int(row[0]) if row else 0
        mine = dict(local.execute("SELECT key, value FROM meta WHERE key IN ('primary_id', 'model', 'dimension')"))
        copied = 0
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            target = int(conn.execute("SELECT coalesce(max(generation), 0) FROM changes").fetchone()[0])
            if mine.get("primary_id", meta.get("archive_id")) != meta.get("archive_id"):
                raise ReplicaMismatch(
                    f"{self.display} is another archive (id {meta.get('archive_id')}) than the one this host "
                    f"replicates ({mine.get('primary_id')}): rebuild it with scripts/build_index.py --from-archive"
                )
            if have and target >= have:
                # The last change this host applied must be the primary's too: after a failover to a
                # standby that missed it, new writes reuse its generation and the histories diverge.
                theirs = conn.execute(
                    "SELECT article_id, op, at FROM changes WHERE generation = %s", (have,)
                ).fetchone()
                ours = local.execute("SELECT article_id, op, at FROM changes WHERE generation = ?", (have,)).fetchone()
                if theirs is None or tuple(theirs) != tuple(ours or ()):
                    raise ReplicaMismatch(
                        f"this host's replica and {self.display} disagree on generation {have} (a standby promoted "
                        "without the last writes?): rebuild it with scripts/build_index.py --from-archive"
                    )
            if target < have:
                raise ReplicaMismatch(
                    f"this host's replica is at generation {have}, ahead of {self.display} at {target} "
                    "(a replica promoted without the last writes?): rebuild it with scripts/build_index.py "
                    "--from-archive"
                )
            if target == have:
                return PullResult(have, have, 0)
            for key in ("model", "dimension"):
                if key in meta and mine.get(key) != meta[key]:
                    local.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, meta[key]))
            if "primary_id" not in mine and meta.get("archive_id"):
                local.execute("INSERT INTO meta VALUES ('primary_id', ?)", (meta["archive_id"],))
            for table, added, retired, key in _REPLICATED:
                copied += self._copy_added(conn, local, table, added, retired, have, target)
                if retired:
                    copied += self._copy_retired(conn, local, table, added, retired, key, have, target)
        return PullResult(have, target, copied)

    @staticmethod
    def _copy_added(conn, local, table: str, added: str, retired: str | None, have: int, target: int) -> int:
        cursor = conn.cursor(name=f"pull_{table}")  # server-side: a host joining streams, never buffers
        cursor.itersize = PULL_BATCH_ROWS
        cursor.execute(f"SELECT * FROM {table} WHERE {added} > %s AND {added} <= %s", (have, target))
        names = [c.name for c in cursor.description]
        at = names.index(retired) if retired else None
        columns = ", ".join(f'"{n}"' for n in names)
        insert = f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({', '.join('?' * len(names))})"
        count = 0
        while rows := cursor.fetchmany(PULL_BATCH_ROWS):
            if at is not None:  # retired after the target: still live at it (the next pull retires it)
                rows = [(*r[:at], None, *r[at + 1 :]) if r[at] is not None and r[at] > target else r for r in rows]
            local.executemany(insert, rows)
            count += len(rows)
        cursor.close()
        return count

    @staticmethod
    def _copy_retired(conn, local, table, added, retired, key, have: int, target: int) -> int:
        rows = conn.execute(
            f"SELECT {retired}, {key} FROM {table} WHERE {retired} > %s AND {retired} <= %s AND {added} <= %s",
            (have, target, have),
        ).fetchall()
        local.executemany(f"UPDATE {table} SET {retired} = ? WHERE {key} = ?", rows)
        return len(rows)


class LockBusy(RuntimeError):
    """Another process holds a job lock (the sync) on the shared archive."""


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) of every migration shipped, in order."""
    folder = resources.files("index.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text("utf-8")))
    return sorted(found)


class LogFollower:
    """A thread that keeps this process's replica following the primary's log.

    Woken by LISTEN/NOTIFY on its own connection; it also pulls every `poll_seconds` without
    one (a notification lost while reconnecting) and after every reconnect (a host that was
    down catches up from the log). `pull()` does the work and returns (before, after)."""

    def __init__(
        self,
        primary: PostgresArchive,
        pull: Callable[[], PullResult],
        on_pulled: Callable[[PullResult], None] | None = None,
    ):
        self.primary = primary
        self._pull = pull
        self._on_pulled = on_pulled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = False
        self.last_error: str | None = None
        self.last_pull: float | None = None  # time.time() of the last successful pull

    def start(self) -> LogFollower:
        self._thread = threading.Thread(target=self._run, name="archive-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 + CONNECT_TIMEOUT_SECONDS)

    def pull_now(self) -> PullResult | None:
        try:
            result = self._pull()
        except (ArchiveUnavailable, ReplicaMismatch) as exc:
            self.last_error = str(exc)
            if isinstance(exc, ReplicaMismatch):  # needs an operator; an outage passes by itself
                log.error("%s", exc)
            return None
        self.last_error = None
        self.last_pull = time.time()
        if result.after != result.before:
            log.info("replica at generation %d (from %d, %d rows)", result.after, result.before, result.rows)
            if self._on_pulled is not None:
                self._on_pulled(result)
        return result

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.primary.url, autocommit=True, **self.primary._connect_options()) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, backoff = True, 0.5
                    self.pull_now()
                    pulled = time.monotonic()
                    while not self._stop.is_set():
                        # Waits in slices of a second at most, so stop() is prompt.
                        slice_s = max(0.01, min(1.0, pulled + self.primary.poll_seconds - time.monotonic()))
                        woken = list(conn.notifies(timeout=slice_s, stop_after=1))
                        if woken or time.monotonic() - pulled >= self.primary.poll_seconds:
                            list(conn.notifies(timeout=0.01))  # several writes in a burst: one pull takes them all
                            self.pull_now()
                            pulled = time.monotonic()
            except psycopg.Error as exc:
                self.listening = False
                self.last_error = self.primary.scrub(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                log.warning("following %s: %s; retrying in %.1fs", self.primary.display, self.last_error, backoff)
            except Exception:  # never let the thread die: reads keep being served, and it retries
                self.listening = False
                log.exception("following %s failed; retrying", self.primary.display)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.primary.poll_seconds)


# ---- moving a one-machine archive into PostgreSQL (scripts/migrate_archive.py) ----------------

# table: (key columns in copy order, True if the key is one increasing integer: resumable by it)
_MOVED = (
    ("changes", ("generation",), True),
    ("articles", ("id",), False),
    ("sentences", ("id",), True),
    ("reviews", ("seq",), True),
    ("review_marks", ("review_id", "claim"), False),
    ("source_state", ("url",), False),
    ("source_posts", ("site", "post_id"), False),
    ("source_cursors", ("source",), False),
)
MOVE_BATCH_ROWS = 20_000
_INTEGER_KEYS = {("changes", "generation"), ("sentences", "id"), ("reviews", "seq"), ("source_posts", "post_id")}


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sha256) == (self.target_rows, self.target_sha256)


def _local_tables(local: sqlite3.Connection) -> set[str]:
    return {r[0] for r in local.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(local: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in local.execute(f"PRAGMA table_info({table})")]


def copy_from_sqlite(
    local: sqlite3.Connection, primary: PostgresArchive, source: str, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of a one-machine archive into an empty shared archive; rows copied per table.

    Resumable: the increasing-key tables continue after the highest key already copied, each
    batch its own transaction; the others are upserted whole (idempotent). `source` names the
    archive: a shared archive holding another archive's rows is refused."""
    copied: dict[str, int] = {}
    tables = _local_tables(local)
    with primary.connection() as conn:
        with conn.transaction():
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            has_rows = conn.execute("SELECT EXISTS (SELECT 1 FROM changes)").fetchone()[0]
            if meta.get("migrated_from", source if not has_rows else None) != source:
                raise ValueError(
                    f"{primary.display} already holds an archive that was not copied from {source}: "
                    "copy into an empty one"
                )
            conn.execute("INSERT INTO meta VALUES ('migrated_from', %s) ON CONFLICT (key) DO NOTHING", (source,))
            for key, value in local.execute("SELECT key, value FROM meta WHERE key IN ('model', 'dimension')"):
                conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING", (key, str(value)))
        for table, keys, increasing in _MOVED:
            if table not in tables:
                continue
            columns = _columns(local, table)
            quoted = ", ".join(f'"{c}"' for c in columns)
            count = 0
            if increasing:
                (key,) = keys
                after = conn.execute(f"SELECT coalesce(max({key}), 0) FROM {table}").fetchone()[0]
                while True:
                    rows = local.execute(
                        f"SELECT {quoted} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?",
                        (after, MOVE_BATCH_ROWS),
                    ).fetchall()
                    if not rows:
                        break
                    with conn.transaction(), conn.cursor().copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                    after = rows[-1][columns.index(key)]
                    count += len(rows)
                    if progress:
                        progress(table, len(rows))
                # New rows take ids after the copied ones.
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                    f"(SELECT coalesce(max({key}), 0) + 1 FROM {table}), false)"
                )
            else:
                insert = (
                    f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(['%s'] * len(columns))}) "
                    f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
                )
                cursor = local.execute(f"SELECT {quoted} FROM {table}")
                while rows := cursor.fetchmany(MOVE_BATCH_ROWS):
                    with conn.transaction():
                        conn.cursor().executemany(insert, rows)
                    count += len(rows)
                    if progress:
                        progress(table, len(rows))
            copied[table] = count
    return copied


def compare_with_sqlite(local: sqlite3.Connection, primary: PostgresArchive) -> list[TableCheck]:
    """Rows and a sha256 over every row, in key order, of each table on both sides."""
    checks = []
    tables = _local_tables(local)
    with primary.connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table, keys, _ in _MOVED:
            if table not in tables:
                continue
            columns = ", ".join(f'"{c}"' for c in _columns(local, table))
            order_local = ", ".join(keys)
            # Text keys in byte order on both sides (SQLite's BINARY is PostgreSQL's "C").
            order_pg = ", ".join(k if (table, k) in _INTEGER_KEYS else f'{k} COLLATE "C"' for k in keys)
            source = _digest(local.execute(f"SELECT {columns} FROM {table} ORDER BY {order_local}"))
            cursor = conn.cursor(name=f"check_{table}")
            cursor.itersize = MOVE_BATCH_ROWS
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY {order_pg}")
            target = _digest(cursor)
            cursor.close()
            checks.append(TableCheck(table, source[0], target[0], source[1], target[1]))
    return checks


def _digest(rows) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for row in rows:
        normalised = tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
        digest.update(repr(normalised).encode())
        count += 1
    return count, digest.hexdigest()
