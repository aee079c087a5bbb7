"""Reviews in and out: schema.org ClaimReview (JSON-LD), JSONL and CSV → `Review`; `Review` → ClaimReview.

Accepted input (`read_records`):
- JSON-LD: one ClaimReview object, a list of them, an `@graph` holding them (other nodes are
  passed over), or a `DataFeed` whose `dataFeedElement` holds them, bare or as a
  `DataFeedItem`'s `item` (the shape fact-checkers' feeds use);
- JSONL: one record a line, a ClaimReview object or a flat record;
- CSV with a header row naming the flat fields (`FLAT_FIELDS`; only `claim` is required).

A flat record's fields: `claim`, `verdict` (supported, contradicted, mixed, unproven; derived
from the rating when absent), `rating` (the text, "Pants on Fire"), `rating_value`,
`best_rating`, `worst_rating`, `reviewed_by`, `reviewed_at` (ISO date), `url`, `title`,
`claimant`, `claim_where`, `claim_date`, `note`, `evidence` (sentence ids, separated by spaces
or commas).

ClaimReview's fields map as: `claimReviewed` → claim; `reviewRating.alternateName` (else
`.name`) → rating text, `ratingValue`/`bestRating`/`worstRating` → the number; `author.name`
→ reviewed_by; `datePublished` → reviewed_at; `url`; `name`/`headline` → title;
`itemReviewed` (a Claim): `author.name` → claimant, `appearance`/`firstAppearance` (url or
name) → claim_where, `datePublished` → claim_date; `reviewBody` → note. The export writes the
normalised verdict as `reviewRating.name`, which the import reads back, so a review round-trips.

A record that is not a review raises `ReviewError` with its position (`file:#n`, the line for
JSONL and CSV); callers report and skip it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime

from index.reviews.review import (
    VERDICTS,
    EvidenceRef,
    Review,
    ReviewError,
    make_rating,
    normalise_claim,
    review_id,
)

FLAT_FIELDS = (
    "claim", "verdict", "rating", "rating_value", "best_rating", "worst_rating", "reviewed_by", "reviewed_at",
    "url", "title", "claimant", "claim_where", "claim_date", "note", "evidence",
)  # fmt: skip
MAX_CLAIM_CHARS = 1000
MAX_FIELD_CHARS = 5000
_URL = re.compile(r"^https?://[^\s\x00-\x1f\x7f-\x9f]{1,2000}$")  # no whitespace, by Python's or the spec's reading
SCHEMA_ORG = "https://schema.org"


# ---- reading ------------------------------------------------------------------------------


def read_records(text: str, name: str) -> Iterator[tuple[str, dict | ReviewError]]:
    """(position, record) for every record in a file's text, or (position, ReviewError) where the
    text there cannot be read. The format comes from the name (.csv, .jsonl) or the content."""
    lower = name.lower()
    if lower.endswith(".csv"):
        yield from _csv_records(text, name)
    elif lower.endswith((".jsonl", ".ndjson")):
        yield from _jsonl_records(text, name)
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            if lower.endswith((".json", ".jsonld")):
                yield name, ReviewError(f"not JSON: {exc}")
            else:  # no telling extension: JSONL after all?
                yield from _jsonl_records(text, name)
            return
        yield from _json_ld_records(data, name)


def _csv_records(text: str, name: str) -> Iterator[tuple[str, dict | ReviewError]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    unknown = sorted(set(header) - set(FLAT_FIELDS))
    if "claim" not in header or unknown:
        why = f"unknown columns {unknown}" if unknown else "no 'claim' column"
        yield f"{name}:1", ReviewError(f"the header must name the fields {', '.join(FLAT_FIELDS)}: {why}")
        return
    reader.fieldnames = header
    for row in reader:
        position = f"{name}:{reader.line_num}"
        if None in row:
            yield position, ReviewError("more cells than header columns")
            continue
        yield position, {k: v for k, v in row.items() if v not in (None, "")}


def _jsonl_records(text: str, name: str) -> Iterator[tuple[str, dict | ReviewError]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        position = f"{name}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield position, ReviewError(f"not JSON: {exc}")
            continue
        yield (position, record) if isinstance(record, dict) else (position, ReviewError("not a JSON object"))


def _types(node: dict) -> set[str]:
    kind = node.get("@type", ())
    return {t.rsplit("/", 1)[-1] for t in ([kind] if isinstance(kind, str) else kind) if isinstance(t, str)}


def _json_ld_records(data: object, name: str) -> Iterator[tuple[str, dict | ReviewError]]:
    """The ClaimReviews of a JSON-LD document, numbered in document order (#1, #2, ...)."""
    number = 0

    def walk(node: object, strict: bool) -> Iterator[tuple[str, dict | ReviewError]]:
        nonlocal number
        if isinstance(node, list):
            for item in node:
                yield from walk(item, strict)
            return
        if not isinstance(node, dict):
            if strict:
                number += 1
                yield f"{name}#{number}", ReviewError("not a JSON object")
            return
        types = _types(node)
        if "@graph" in node:
            yield from walk(node["@graph"], False)
        elif "DataFeed" in types:
            yield from walk(node.get("dataFeedElement", []), True)
        elif "DataFeedItem" in types:
            yield from walk(node.get("item", []), True)
        elif "ClaimReview" in types or "claimReviewed" in node or (strict and "claim" in node):
            number += 1
            yield f"{name}#{number}", node
        elif strict:
            number += 1
            yield f"{name}#{number}", ReviewError("not a ClaimReview (no @type ClaimReview, no claimReviewed)")

    yield from walk(data, True)


# ---- records → reviews ---------------------------------------------------------------------


def review_from_record(record: dict, default_reviewer: str | None = None, max_claim_chars: int = MAX_CLAIM_CHARS):
    """A `Review` from a ClaimReview object, a PolitiFact record or a flat record; `ReviewError` if it is not one."""
    if "claimReviewed" in record or "ClaimReview" in _types(record):
        return _from_claimreview(record, default_reviewer, max_claim_chars)
    if set(POLITIFACT_FIELDS) >= set(record) >= {"claim", "rating", "stated"}:
        return _from_politifact(record, default_reviewer, max_claim_chars)
    return _from_flat(record, default_reviewer, max_claim_chars)


# A PolitiFact record, as its exports and the CLEF CheckThat! releases give it: `rating` is
# PolitiFact's slug ("pants-fire", "barely-true"), `stated` its line "stated on October 22,
# 2019 in a campaign mailer:", `speaker` who made the claim; the review's date is in its URL
# (/factchecks/2019/oct/30/…).
POLITIFACT_FIELDS = ("id", "claim", "rating", "speaker", "stated", "title", "url")
POLITIFACT_RATINGS = {
    "pants-fire": "Pants on Fire", "false": "False", "barely-true": "Mostly False", "half-true": "Half True",
    "mostly-true": "Mostly True", "true": "True", "full-flop": "Full Flop", "half-flip": "Half Flip",
    "no-flip": "No Flip",
}  # fmt: skip
_STATED = re.compile(r"^\s*stated on (\w+ \d{1,2}, \d{4})(?:\s+in\s+(.*?))?[\s.:]*$", re.IGNORECASE | re.DOTALL)
_URL_DATE = re.compile(r"/(\d{4})/([a-z]{3})/(\d{1,2})/")


def _from_politifact(record: dict, default_reviewer: str | None, max_claim_chars: int) -> Review:
    stated = _text(record.get("stated"), "stated") or ""
    said = _STATED.match(stated)
    claim_date = datetime.strptime(said.group(1), "%B %d, %Y").date().isoformat() if said else None
    url = _text(record.get("url"), "url")
    published = _URL_DATE.search(url or "")
    if published:
        reviewed_at = datetime.strptime(" ".join(published.groups()), "%Y %b %d").date().isoformat()
    elif claim_date:
        reviewed_at = claim_date  # the review is not older than the claim
    else:
        raise ReviewError("no review date: neither the url (/YYYY/mon/DD/) nor 'stated' gives one")
    slug = (_text(record.get("rating"), "rating") or "").lower()
    return build_review(
        record.get("claim"),
        rating=POLITIFACT_RATINGS.get(slug, record.get("rating")),
        reviewed_by=default_reviewer or "PolitiFact",
        reviewed_at=reviewed_at,
        url=url,
        title=record.get("title"),
        claimant=record.get("speaker"),
        claim_where=said.group(2) if said and said.group(2) else None,
        claim_date=claim_date,
        max_claim_chars=max_claim_chars,
    )


def build_review(
    claim: object,
    *,
    verdict: str | None = None,
    rating: object = None,
    rating_value: object = None,
    best_rating: object = None,
    worst_rating: object = None,
    reviewed_by: object = None,
    reviewed_at: object = None,
    url: object = None,
    title: object = None,
    claimant: object = None,
    claim_where: object = None,
    claim_date: object = None,
    note: object = None,
    evidence: object = (),
    max_claim_chars: int = MAX_CLAIM_CHARS,
) -> Review:
    """A checked `Review` from loosely typed fields (as parsed); `ReviewError` names the first problem."""
    claim = normalise_claim(_text(claim, "claim") or "")
    if not claim:
        raise ReviewError("no claim (claimReviewed) to review")
    if len(claim) > max_claim_chars:
        raise ReviewError(f"the claim is longer than {max_claim_chars} characters")
    by = _text(reviewed_by, "reviewed_by")
    if not by:
        raise ReviewError("no reviewer (author of the review)")
    at = _iso_date(reviewed_at, "reviewed_at (datePublished)", required=True)
    url = _text(url, "url")
    if url is not None and not _URL.match(url):
        raise ReviewError(f"url is not an http(s) URL: {url[:100]!r}")
    verdict = _text(verdict, "verdict")
    if verdict is not None and verdict.lower() not in VERDICTS:
        raise ReviewError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    made = make_rating(
        verdict and verdict.lower(),
        _text(rating, "rating"),
        _number(rating_value, "ratingValue"),
        _number(best_rating, "bestRating"),
        _number(worst_rating, "worstRating"),
    )
    return Review(
        id=review_id(claim, url, by),
        claim=claim,
        rating=made,
        reviewed_by=by,
        reviewed_at=at,
        url=url,
        title=_text(title, "title"),
        claimant=_text(claimant, "claimant"),
        claim_where=_text(claim_where, "claim_where"),
        claim_date=_iso_date(claim_date, "claim_date"),
        note=_text(note, "note"),
        evidence=tuple(EvidenceRef(i) for i in _sentence_ids(evidence)),
    )


def _from_flat(record: dict, default_reviewer: str | None, max_claim_chars: int) -> Review:
    unknown = sorted(set(record) - set(FLAT_FIELDS))
    if unknown:
        raise ReviewError(f"unknown fields {unknown}; a flat record has {', '.join(FLAT_FIELDS)}")
    fields = dict(record)
    fields.setdefault("reviewed_by", default_reviewer)
    return build_review(fields.pop("claim", None), max_claim_chars=max_claim_chars, **fields)


def _from_claimreview(node: dict, default_reviewer: str | None, max_claim_chars: int) -> Review:
    rating = node.get("reviewRating") or {}
    if isinstance(rating, list):
        rating = rating[0] if rating else {}
    if not isinstance(rating, dict):
        raise ReviewError("reviewRating is not a Rating object")
    name, alternate = _text(rating.get("name"), "reviewRating.name"), rating.get("alternateName")
    # Our own export writes the normalised verdict as the Rating's name, the reviewer's words as
    # alternateName (absent when there were none): a name that is one of VERDICTS is the verdict.
    verdict = name.lower() if name and name.lower() in VERDICTS else None
    if verdict is not None and alternate is None:
        name = None
    item = node.get("itemReviewed") or {}
    if isinstance(item, list):
        item = item[0] if item else {}
    if not isinstance(item, dict):
        item = {}
    appearance = item.get("appearance") or item.get("firstAppearance")
    return build_review(
        node.get("claimReviewed") or item.get("name"),
        verdict=verdict,
        rating=alternate if alternate is not None else name,
        rating_value=rating.get("ratingValue"),
        best_rating=rating.get("bestRating"),
        worst_rating=rating.get("worstRating"),
        reviewed_by=_name(node.get("author")) or _name(node.get("publisher")) or default_reviewer,
        reviewed_at=node.get("datePublished") or node.get("dateCreated"),
        url=node.get("url"),
        title=node.get("name") or node.get("headline"),
        claimant=_name(item.get("author")),
        claim_where=_where(appearance),
        claim_date=item.get("datePublished"),
        note=node.get("reviewBody") or node.get("description"),
        max_claim_chars=max_claim_chars,
    )


def _text(value: object, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ReviewError(f"{field} is not text")
    value = " ".join(value.split()) if field != "note" else value.strip()
    if len(value) > MAX_FIELD_CHARS:
        raise ReviewError(f"{field} is longer than {MAX_FIELD_CHARS} characters")
    return value or None


def _number(value: object, field: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ReviewError(f"{field} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ReviewError(f"{field} is not a number: {str(value)[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ReviewError(f"{field} is not a finite number")
    return number


def _iso_date(value: object, field: str, required: bool = False) -> str | None:
    """An ISO date or date-time, kept as written (a date-time's zone included); None if absent."""
    text = _text(value, field)
    if text is None:
        if required:
            raise ReviewError(f"no {field}")
        return None
    try:
        if len(text) <= 10:
            return date.fromisoformat(text).isoformat()
        datetime.fromisoformat(text)
        return text
    except ValueError:
        raise ReviewError(f"{field} is not an ISO date: {text[:40]!r}") from None


def _name(value: object) -> str | None:
    """A person's or organisation's name from a string, an object with `name`, or a list of them."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return _text(value, "author") if isinstance(value, str) else None


def _where(value: object) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("name") or value.get("headline")
    return _text(value, "appearance") if isinstance(value, str) else None


def _sentence_ids(value: object) -> list[int]:
    if value in (None, "", ()):
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ReviewError("evidence is not a list of sentence ids")
    ids = []
    for item in items:
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise ReviewError(f"evidence: not a sentence id: {str(item)[:40]!r}") from None
        if isinstance(item, bool) or not 1 <= number < 2**63:
            raise ReviewError(f"evidence: not a sentence id: {item!r}")
        ids.append(number)
    return list(dict.fromkeys(ids))


# ---- reviews → ClaimReview -----------------------------------------------------------------


def to_claimreview(review: Review) -> dict:
    """One review as a schema.org ClaimReview object (JSON-LD, without @context)."""
    r = review.rating
    rating: dict = {"@type": "Rating", "name": r.verdict}
    if r.text:
        rating["alternateName"] = r.text
    if r.value is not None:
        rating.update(ratingValue=r.value, bestRating=r.best, worstRating=r.worst)
    claim: dict = {"@type": "Claim"}
    if review.claimant:
        claim["author"] = {"@type": "Thing", "name": review.claimant}
    if review.claim_date:
        claim["datePublished"] = review.claim_date
    if review.claim_where:
        key = "url" if _URL.match(review.claim_where) else "name"
        claim["appearance"] = [{"@type": "CreativeWork", key: review.claim_where}]
    node: dict = {
        "@type": "ClaimReview",
        "claimReviewed": review.claim,
        "reviewRating": rating,
        "author": {"@type": "Organization", "name": review.reviewed_by},
        "datePublished": review.reviewed_at,
        "itemReviewed": claim,
    }
    if review.url:
        node["url"] = review.url
    if review.title:
        node["name"] = review.title
    if review.note:
        node["reviewBody"] = review.note
    return node


def claimreview_feed(reviews: list[Review]) -> dict:
    """Reviews as a JSON-LD DataFeed of ClaimReviews, the shape fact-checkers publish."""
    return {
        "@context": SCHEMA_ORG,
        "@type": "DataFeed",
        "dataFeedElement": [{"@type": "DataFeedItem", "item": to_claimreview(r)} for r in reviews],
    }
