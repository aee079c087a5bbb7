"""Extraction quality on real news pages: trafilatura (as `index/ingestion/sources/extract.py` runs it)
against jusText and the readability port trafilatura ships, scored against reference texts.

The pages are the test pages newspaper4k ships in its source distribution (tests/data/html:
CNN, Time, Wired, Fox 13, cleveland.com, and Arabic, Chinese, Japanese, Spanish, Thai, Korean …
news pages; tests/data/txt: their reference article texts; tests/data/metadata: title, authors,
date, canonical URL). The sdist is fetched once from the package registry with `pip download`,
its sha256 pinned below, into var/bench/. The references were written for (and checked against)
newspaper4k's own extractor, so they follow its conventions (headings and captions at times in,
at times out): read the figures as agreement with a careful reference, not as absolute truth.

Scores are bag-of-words over the page's main text: precision = share of the extracted words that
are in the reference, recall = share of the reference's words extracted (words: \\w+ runs,
lower-cased; for scripts written without spaces, characters).

    .venv/bin/python benchmarks/extraction_quality.py
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import bench_dir, command, log, machine, table

SDIST = "newspaper4k==0.9.6"
SDIST_SHA256 = "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e"
DATA_IN_SDIST = "newspaper4k-0.9.6/tests/data"


@dataclass(frozen=True)
class Page:
    name: str
    html: bytes
    reference: str
    meta: dict


def pages_dir(download: bool = True) -> Path | None:
    """tests/data of the newspaper4k sdist under var/bench (downloaded and unpacked once)."""
    target = bench_dir() / DATA_IN_SDIST
    if target.is_dir():
        return target
    if not download:
        return None
    sdists = bench_dir() / "sdists"
    sdists.mkdir(exist_ok=True)
    pin = sdists / "newspaper4k.txt"
    pin.write_text(f"{SDIST} --hash=sha256:{SDIST_SHA256}\n")
    log(f"downloading the {SDIST} sdist (its test pages) from the package registry")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--require-hashes", "-r", str(pin), "-d", str(sdists)],
        capture_output=True, text=True,
    )  # fmt: skip
    archive = sdists / "newspaper4k-0.9.6.tar.gz"
    if done.returncode != 0 or not archive.is_file():
        log(f"cannot download {SDIST}: {done.stderr.strip()[-300:]}")
        return None
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(DATA_IN_SDIST + "/") and m.isfile()]
        tar.extractall(bench_dir(), members=members, filter="data")
    return target


def load_pages(directory: Path) -> list[Page]:
    """Every page with a reference text (pages without one are index pages, not articles)."""
    pages = []
    for html in sorted((directory / "html").glob("*.html")):
        reference = directory / "txt" / f"{html.stem}.txt"
        if not reference.is_file():
            continue
        meta_file = directory / "metadata" / f"{html.stem}.json"
        meta = json.loads(meta_file.read_text("utf-8")) if meta_file.is_file() else {}
        pages.append(Page(html.stem, html.read_bytes(), reference.read_text("utf-8"), meta))
    return pages


def tokens(text: str, by_character: bool) -> Counter[str]:
    if by_character:
        return Counter(ch for ch in text.lower() if not ch.isspace() and (ch.isalnum()))
    return Counter(re.findall(r"\w+", text.lower()))


def written_without_spaces(text: str) -> bool:
    return sum(ch.isspace() for ch in text) < 0.05 * max(1, len(text))


def precision_recall(extracted: str, reference: str) -> tuple[float, float]:
    by_character = written_without_spaces(reference)
    got, want = tokens(extracted, by_character), tokens(reference, by_character)
    common = sum((got & want).values())
    return (common / sum(got.values()) if got else 0.0), (common / sum(want.values()) if want else 0.0)


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


# --- the extractors ----------------------------------------------------------------------


def trafilatura_as_served(page: Page) -> str:
    from index.ingestion.sources.extract import ExtractionError, article_from_html

    try:
        return article_from_html(page.html, url=page.meta.get("url")).body
    except ExtractionError:
        return ""


def readability_port(page: Page) -> str:
    """Readability's algorithm (readability-lxml, as ported into trafilatura), on its own."""
    from trafilatura.external import try_readability
    from trafilatura.utils import load_html

    tree = load_html(page.html)
    if tree is None:
        return ""
    summary = try_readability(tree)
    return "\n\n".join(" ".join(t.split()) for t in summary.itertext() if t.strip())


def justext_paragraphs(page: Page) -> str:
    import justext

    language = (page.meta.get("meta_lang") or page.meta.get("language") or "en").split("-")[0]
    stoplist = _justext_stoplist(language)
    paragraphs = justext.justext(page.html, justext.get_stoplist(stoplist))
    return "\n\n".join(p.text for p in paragraphs if not p.is_boilerplate)


def _justext_stoplist(language: str) -> str:
    import babel
    import justext

    try:
        name = babel.Locale.parse(language).english_name
    except (ValueError, babel.UnknownLocaleError):
        name = "English"
    return name if name in justext.get_stoplists() else "English"


EXTRACTORS: dict[str, Callable[[Page], str]] = {
    "trafilatura 2.3.1 (served)": trafilatura_as_served,
    "jusText 3.0.2": justext_paragraphs,
    "readability (trafilatura's port)": readability_port,
}


def score(pages: list[Page]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name, extract in EXTRACTORS.items():
        rows, started = [], time.perf_counter()
        for page in pages:
            try:
                text = extract(page)
            except Exception as exc:  # an extractor crashing on a page scores 0 there
                log(f"{name} failed on {page.name}: {type(exc).__name__}: {exc}")
                text = ""
            rows.append((page.name, *precision_recall(text, page.reference)))
        seconds = time.perf_counter() - started
        results[name] = {
            "pages": {n: {"precision": p, "recall": r, "f1": f1(p, r)} for n, p, r in rows},
            "precision": statistics.mean(p for _, p, _ in rows),
            "recall": statistics.mean(r for _, _, r in rows),
            "f1": statistics.mean(f1(p, r) for _, p, r in rows),
            "empty": sum(1 for _, p, r in rows if p == r == 0),
            "ms_per_page": 1000 * seconds / len(pages),
        }
    return results


def metadata_agreement(pages: list[Page]) -> dict[str, tuple[int, int]]:
    """How often the served extractor's title, date, author and canonical URL match the page's
    reference metadata: (matches, pages that have the field)."""
    from index.ingestion.sources.extract import ExtractionError, article_from_html

    counts = {"title": [0, 0], "date": [0, 0], "author": [0, 0], "canonical URL": [0, 0]}
    for page in pages:
        try:
            article = article_from_html(page.html)
        except ExtractionError:
            article = None

        def check(field: str, wanted, got_ok: bool) -> None:
            if wanted:
                counts[field][1] += 1
                counts[field][0] += int(got_ok)

        meta = page.meta
        norm = lambda s: " ".join((s or "").split()).casefold()  # noqa: E731
        check("title", meta.get("title"), article is not None and norm(article.title) == norm(meta.get("title")))
        check(
            "date",
            meta.get("publish_date"),
            article is not None and article.published == (meta.get("publish_date") or "")[:10],
        )
        authors = [a for a in meta.get("authors") or [] if a]
        check("author", authors, article is not None and any(norm(a) in norm(article.byline) for a in authors))
        canonical = (meta.get("canonical_link") or "").rstrip("/")
        check("canonical URL", canonical, article is not None and (article.url or "").rstrip("/") == canonical)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, help="a directory with html/, txt/ (and metadata/); default: the sdist's")
    parser.add_argument("--json", type=Path, help="also write the per-page scores here")
    args = parser.parse_args(argv)
    directory = args.pages or pages_dir()
    if directory is None:
        print("error: no test pages (the sdist could not be downloaded); give --pages", file=sys.stderr)
        return 1
    pages = load_pages(directory)
    english = [p for p in pages if (p.meta.get("meta_lang") or p.meta.get("language") or "en").startswith("en")]
    print(f"{len(pages)} pages with reference texts ({len(english)} English), from {SDIST}'s tests/data")
    print(machine())
    print(command())
    all_scores, en_scores = score(pages), score(english)
    rows = [
        (name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"**{s['f1']:.3f}**", f"{en_scores[name]['f1']:.3f}",
         s["empty"], f"{s['ms_per_page']:.0f}")
        for name, s in all_scores.items()
    ]  # fmt: skip
    header = "extractor | precision | recall | F1 (all pages) | F1 (English) | pages with nothing | ms a page"
    print(table(header, rows))
    meta = metadata_agreement(pages)
    print(
        table(
            "metadata (trafilatura, served) | agrees with the reference",
            [(k, f"{a} of {n}") for k, (a, n) in meta.items()],
        )
    )
    if args.json:
        args.json.write_text(json.dumps({"all": all_scores, "english": en_scores, "metadata": meta}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
