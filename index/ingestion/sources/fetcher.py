"""`Fetcher`: the one polite HTTP client every source goes through.

- It names itself (`USER_AGENT`, with the project's name) and obeys robots.txt (protego,
  read once per host; its Crawl-delay widens the host's interval).
- Per host: at most `per_host_concurrency` requests at once, and request starts at least
  `min_interval` seconds apart.
- Timeouts: connecting, each read, and the whole response (`timeout`).
- Retries with exponential backoff on 429, 5xx and connection errors; a `Retry-After`
  (seconds or an HTTP date) is waited out, by every request to that host, unless it is longer
  than `max_retry_after` (then the item is skipped, saying so).
- Conditional requests: `If-None-Match` / `If-Modified-Since` from the `Validators` the
  caller remembered (index/ingestion/sources/sync.py keeps them in the archive); 304 is `not_modified`.
- Redirects are followed within the same host only (http → https allowed), loops detected.
- A body larger than `max_bytes` is not read past the cap.

Every outcome is a `FetchResult`; nothing raises for a bad response, so one bad item never
ends a run.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import requests
from protego import Protego

USER_AGENT = "claimcheck-sources/0.1 (claim verification for newsrooms; +https://github.com/claimcheck)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_CRAWL_DELAY = 60.0  # a robots.txt Crawl-delay above this is read as this


@dataclass(frozen=True)
class FetchPolicy:
    """How politely to fetch; the defaults suit a newsroom's own site from a cron job."""

    user_agent: str = USER_AGENT
    per_host_concurrency: int = 2
    min_interval: float = 0.5  # seconds between request starts to one host
    timeout: float = 30.0  # connect, each read, and the whole body
    retries: int = 3  # attempts after the first, on 429 / 5xx / connection errors
    backoff: float = 1.0  # first retry's wait; doubles each time
    max_retry_after: float = 300.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    obey_robots: bool = True


@dataclass(frozen=True)
class Validators:
    """What the last successful fetch of a URL said, for a conditional request."""

    etag: str | None = None
    last_modified: str | None = None


OK, NOT_MODIFIED, SKIPPED = "ok", "not_modified", "skipped"


@dataclass(frozen=True)
class FetchResult:
    url: str  # as asked
    status: str  # OK, NOT_MODIFIED or SKIPPED
    final_url: str | None = None  # after same-host redirects
    body: bytes = b""
    content_type: str = ""
    validators: Validators = field(default_factory=Validators)
    reason: str | None = None  # why SKIPPED (or a note)
    http_status: int | None = None
    attempts: int = 0
    retryable: bool = False  # SKIPPED for now (429, 5xx, timeouts): worth asking again next run
    headers: dict[str, str] = field(default_factory=dict)  # the answer's headers, names lower-cased

    @property
    def charset(self) -> str | None:
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"' ")
        return None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def same_host(a: str, b: str) -> bool:
    return (urlsplit(a).hostname or "").lower() == (urlsplit(b).hostname or "").lower()


class _Host:
    """One host's slots, pace and robots.txt, shared by every thread."""

    def __init__(self, policy: FetchPolicy):
        self.slots = threading.BoundedSemaphore(policy.per_host_concurrency)
        self.lock = threading.Lock()
        self.interval = policy.min_interval
        self.next_start = 0.0
        self.robots_lock = threading.Lock()
        self.robots: Protego | None = None
        self.robots_read = False
        self.robots_error: str | None = None  # why robots.txt could not be read (then nothing is fetched)

    def wait_turn(self, sleep: Callable[[float], None]) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            sleep(start - now)

    def hold_off(self, seconds: float) -> None:
        """Nobody starts a request to this host for `seconds` (a Retry-After)."""
        with self.lock:
            self.next_start = max(self.next_start, time.monotonic() + seconds)


class Fetcher:
    """Thread-safe; one per run. `stats` counts requests by HTTP status (or error kind)."""

    def __init__(self, policy: FetchPolicy | None = None, sleep: Callable[[float], None] = time.sleep):
        self.policy = policy or FetchPolicy()
        self.sleep = sleep
        self.stats: Counter[str] = Counter()
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._local = threading.local()

    # ---- public ---------------------------------------------------------------------------

    def fetch(self, url: str, validators: Validators | None = None, accept: str | None = None) -> FetchResult:
        """GET `url` politely; never raises for what the server (or the network) does."""
        if urlsplit(url).scheme not in ("http", "https"):
            return FetchResult(url, SKIPPED, reason="not an http(s) URL")
        seen = [url]
        current = url
        attempts = 0
        for _ in range(self.policy.max_redirects + 1):
            if self.policy.obey_robots and not self._allowed(current):
                unread = self._host(current).robots_error
                if unread:
                    reason = f"robots.txt could not be read ({unread}): nothing is fetched from this host"
                    return FetchResult(url, SKIPPED, final_url=current, reason=reason, retryable=True)
                return FetchResult(url, SKIPPED, final_url=current, reason="disallowed by robots.txt")
            result, location = self._get(current, validators if current == url else None, accept, url)
            attempts += result.attempts
            if location is None:
                return _with(result, attempts=attempts)
            target = urljoin(current, location)
            if not same_host(target, url):
                return FetchResult(url, SKIPPED, final_url=target, reason=f"redirected to another host: {target}")
            if target in seen:
                return FetchResult(url, SKIPPED, final_url=target, reason="redirect loop")
            seen.append(target)
            current = target
        return FetchResult(url, SKIPPED, final_url=current, reason=f"more than {self.policy.max_redirects} redirects")

    def fetch_many(
        self, items: Iterable[tuple[str, Validators | None]], accept: str | None = None, workers: int = 8
    ) -> Iterator[FetchResult]:
        """Fetch in parallel (the per-host limits still hold); results in completion order."""
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            futures = [pool.submit(self.fetch, url, validators, accept) for url, validators in items]
            for future in as_completed(futures):
                yield future.result()

    # ---- one request, with retries ---------------------------------------------------------

    def _get(
        self, url: str, validators: Validators | None, accept: str | None, asked: str
    ) -> tuple[FetchResult, str | None]:
        """(result, redirect location or None)."""
        policy, host = self.policy, self._host(url)
        headers = {"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"}
        if accept:
            headers["Accept"] = accept
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            with host.slots:
                host.wait_turn(self.sleep)
                try:
                    outcome = self._request(url, headers, asked)
                except _Retryable as exc:
                    self._count(exc.kind)
                    why, wait = exc.reason, exc.retry_after
                else:
                    return _with(outcome[0], attempts=attempt), outcome[1]
            if attempt > policy.retries:
                reason = f"{why} after {attempt} attempts"
                return FetchResult(asked, SKIPPED, final_url=url, reason=reason, retryable=True), None
            if wait is not None:
                if wait > policy.max_retry_after:
                    reason = f"{why}: Retry-After {wait:.0f}s is longer than {policy.max_retry_after:.0f}s"
                    return FetchResult(asked, SKIPPED, final_url=url, reason=reason, retryable=True), None
                host.hold_off(wait)  # every thread waits, not just this one
            else:
                self.sleep(policy.backoff * 2 ** (attempt - 1))

    def _request(self, url: str, headers: dict[str, str], asked: str) -> tuple[FetchResult, str | None]:
        policy = self.policy
        started = time.monotonic()
        try:
            response = self._session().get(
                url, headers=headers, timeout=(policy.timeout, policy.timeout), stream=True, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise _Retryable("timeout", f"no answer within {policy.timeout:.0f}s") from exc
        except requests.RequestException as exc:
            raise _Retryable("connection_error", f"cannot connect: {type(exc).__name__}") from exc
        with response:
            status = response.status_code
            self._count(str(status))
            if status in RETRY_STATUSES:
                raise _Retryable(str(status), f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))
            if status in REDIRECT_STATUSES and response.headers.get("Location"):
                return FetchResult(asked, SKIPPED, final_url=url, http_status=status), response.headers["Location"]
            validators = Validators(response.headers.get("ETag"), response.headers.get("Last-Modified"))
            if status == 304:
                return FetchResult(asked, NOT_MODIFIED, final_url=url, validators=validators, http_status=304), None
            if status != 200:
                return FetchResult(asked, SKIPPED, final_url=url, reason=f"HTTP {status}", http_status=status), None
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > policy.max_bytes:
                reason = f"larger than the {policy.max_bytes:,} byte cap ({int(declared):,} bytes)"
                return FetchResult(asked, SKIPPED, final_url=url, reason=reason, http_status=status), None
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > policy.max_bytes:
                        reason = f"larger than the {policy.max_bytes:,} byte cap"
                        return FetchResult(asked, SKIPPED, final_url=url, reason=reason, http_status=status), None
                    if time.monotonic() - started > policy.timeout:
                        raise _Retryable("timeout", f"body not complete within {policy.timeout:.0f}s")
            except requests.RequestException as exc:
                raise _Retryable("read_error", f"broken response: {type(exc).__name__}") from exc
            return FetchResult(
                asked,
                OK,
                final_url=url,
                body=b"".join(chunks),
                content_type=response.headers.get("Content-Type", ""),
                validators=validators,
                http_status=status,
                headers={name.lower(): value for name, value in response.headers.items()},
            ), None

    # ---- robots.txt ------------------------------------------------------------------------

    def _allowed(self, url: str) -> bool:
        host = self._host(url)
        with host.robots_lock:  # the first request to a host reads robots.txt; the others wait for it
            if not host.robots_read:
                host.robots = self._read_robots(url)
                host.robots_read = True
                delay = host.robots.crawl_delay(self.policy.user_agent) if host.robots else None
                if delay:
                    with host.lock:
                        host.interval = max(host.interval, min(float(delay), MAX_CRAWL_DELAY))
        return host.robots is None or host.robots.can_fetch(url, self.policy.user_agent)

    def _read_robots(self, url: str) -> Protego | None:
        """The host's robots.txt; None (everything allowed) when it has none (4xx).
        Unreachable (5xx, network) counts as "disallow all", as RFC 9309 asks."""
        parts = urlsplit(url)
        result, _ = self._get_robots(f"{parts.scheme}://{parts.netloc}/robots.txt")
        if result.status == OK:
            return Protego.parse(result.body.decode(result.charset or "utf-8", "replace"))
        if result.http_status is not None and 400 <= result.http_status < 500:
            return None
        self._host(url).robots_error = result.reason or f"HTTP {result.http_status}"
        return Protego.parse("User-agent: *\nDisallow: /\n")

    def _get_robots(self, robots_url: str) -> tuple[FetchResult, None]:
        current = robots_url
        for _ in range(self.policy.max_redirects + 1):
            result, location = self._get(current, None, "text/plain", robots_url)
            if location is None:
                return result, None
            current = urljoin(current, location)
        return FetchResult(robots_url, SKIPPED, reason="too many redirects"), None

    # ---- plumbing --------------------------------------------------------------------------

    def _host(self, url: str) -> _Host:
        key = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            if key not in self._hosts:
                self._hosts[key] = _Host(self.policy)
            return self._hosts[key]

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # no proxies or .netrc from the environment
        return session

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1


class _Retryable(Exception):
    def __init__(self, kind: str, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.kind, self.reason, self.retry_after = kind, reason, retry_after


def _with(result: FetchResult, **changes) -> FetchResult:
    return replace(result, **changes)


def http_date(when: datetime) -> str:
    """An HTTP date (for Last-Modified in tests and servers)."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)
