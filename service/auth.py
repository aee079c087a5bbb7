"""API keys: `Authorization: Bearer <key>`.

Write routes need a key with the `write` role; read routes are open unless
`REQUIRE_AUTH_FOR_READS` is set, then any key will do. Keys come from `API_KEYS`
(comma-separated) and/or `API_KEYS_FILE` (one per line, `#` comments), each entry
`name:role:key`. Only SHA-256 digests are kept in memory, and a presented key is
compared with every digest in constant time, so timing reveals nothing about
which key, or how much of one, matched. The key's *name* goes to the access log.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, g, request

from service.errors import ApiError

READ, WRITE = "read", "write"
ROLES = (READ, WRITE)
MIN_KEY_CHARS = 16  # a shorter secret is guessable


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    digest: bytes  # sha256 of the key


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def parse_keys(entries: Iterable[str], source: str) -> list[ApiKey]:
    """`name:role:key` entries → keys; ValueError naming the source and entry number (never the key)."""
    keys = []
    for number, raw in enumerate(entries, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        name, role, secret = [*entry.split(":", 2), "", ""][:3]
        if not name or role not in ROLES or not secret:
            raise ValueError(f"{source} entry {number}: expected name:role:key with role read or write")
        if len(secret) < MIN_KEY_CHARS:
            raise ValueError(f"{source} entry {number} ({name}): the key must have at least {MIN_KEY_CHARS} characters")
        keys.append(ApiKey(name, role, _digest(secret)))
    return keys


def load_keys(api_keys: Iterable[str], api_keys_file: str | None) -> list[ApiKey]:
    keys = parse_keys(api_keys, "API_KEYS")
    if api_keys_file:
        try:
            lines = Path(api_keys_file).read_text("utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"API_KEYS_FILE {api_keys_file}: {exc.strerror}") from exc
        keys += parse_keys(lines, f"API_KEYS_FILE {api_keys_file}")
    return keys


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[ApiKey, ...]
    require_auth_for_reads: bool = False

    def find(self, secret: str) -> ApiKey | None:
        digest = _digest(secret)
        found = None
        for key in self.keys:  # no early exit: every key is compared
            if hmac.compare_digest(key.digest, digest):
                found = key
        return found


def _presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def authorize(role: str) -> None:
    """401 without a valid key, 403 if the key's role is not enough; records the key's name."""
    ring: KeyRing = current_app.extensions["keyring"]
    if role == READ and not ring.require_auth_for_reads:
        return
    secret = _presented_key()
    key = ring.find(secret) if secret else None
    if key is None:
        message = "Send a valid API key as 'Authorization: Bearer <key>'."
        if not ring.keys:
            message = "No API key is configured on this server (API_KEYS), so this route is closed."
        raise ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="claimcheck"'})
    g.api_key_name = key.name
    if role == WRITE and key.role != WRITE:
        raise ApiError(403, "forbidden", f"The key '{key.name}' is read-only; this needs a write key.")


def requires(role: str) -> Callable:
    """Decorator for a view: `@requires(WRITE)`."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            authorize(role)
            return view(*args, **kwargs)

        wrapped.required_role = role  # the spec lists 401 (and 403 for writes) from this
        return wrapped

    return decorate
