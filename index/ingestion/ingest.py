"""Reading article files and folders (`.txt`, `.md`, `.jsonl`, `.html`) into `Article`s."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.documents.articles import Article, ArticleError, article_from_record, parse_article_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
# Saved article pages: main text and metadata extracted by index/ingestion/sources/extract.py (trafilatura).
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}


@dataclass(frozen=True)
class IngestProblem:
    """An input that was skipped, and why: shown to the operator as `path:line: message`."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class IngestResult:
    articles: list[Article]
    problems: list[IngestProblem]
    duplicates: int = 0


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every supported file under the given files and folders, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
            )
        else:
            yield path


def _read_file(path: Path) -> Iterator[Article | IngestProblem]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield IngestProblem(str(path), None, f"cannot read: {exc.strerror or exc}")
        return
    if path.suffix.lower() in HTML_SUFFIXES:
        from index.ingestion.sources.extract import article_from_html  # loads trafilatura only for HTML

        try:
            yield article_from_html(raw, source=str(path))
        except ArticleError as exc:
            yield IngestProblem(str(path), None, exc.message)
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        yield IngestProblem(str(path), line, "not valid UTF-8")
        return
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield article_from_record(json.loads(line), source=f"{path}:{line_no}")
            except json.JSONDecodeError as exc:
                yield IngestProblem(str(path), line_no, f"invalid JSON: {exc.msg}")
            except ArticleError as exc:
                yield IngestProblem(str(path), line_no, exc.message)
    elif suffix in TEXT_SUFFIXES:
        try:
            yield parse_article_text(text, source=str(path))
        except ArticleError as exc:
            yield IngestProblem(str(path), exc.line, exc.message)
    else:
        yield IngestProblem(str(path), None, f"unsupported file type {suffix or '(none)'}")


def read_file(path: Path) -> list[Article | IngestProblem]:
    """The articles of one input file, and the problems of the ones that could not be read."""
    if not path.exists():
        return [IngestProblem(str(path), None, "no such file or directory")]
    return list(_read_file(path))


def collect(items: Iterable[Article | IngestProblem]) -> IngestResult:
    """Articles and problems in input order; the same article read twice is kept once (last wins)."""
    by_id: dict[str, Article] = {}
    problems: list[IngestProblem] = []
    seen = 0
    for item in items:
        if isinstance(item, IngestProblem):
            problems.append(item)
        else:
            seen += 1
            by_id.pop(item.id, None)  # re-insert so the order follows the latest copy
            by_id[item.id] = item
    return IngestResult(list(by_id.values()), problems, duplicates=seen - len(by_id))


def read_articles(paths: Iterable[str | Path]) -> IngestResult:
    """Read and parse every article; the same article read twice is kept once (last wins)."""
    return collect(item for path in iter_input_files(paths) for item in read_file(path))
