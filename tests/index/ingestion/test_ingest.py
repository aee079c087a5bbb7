"""Reading files and folders: formats, malformed inputs reported by file and line, no duplicates."""

import json

from index.ingestion.ingest import read_articles
from tests.conftest import SAMPLE_ARTICLE, SAMPLE_ARTICLES


def test_reads_a_folder(tmp_path):
    result = read_articles([SAMPLE_ARTICLES])
    assert [a.title for a in result.articles] == ["Vance Tells Zelensky U.S. Wants 'Lasting' Peace"]
    assert result.problems == []


def test_same_article_twice_is_kept_once(tmp_path):
    copy = tmp_path / "copy.md"
    copy.write_text(SAMPLE_ARTICLE.read_text("utf-8"), "utf-8")
    result = read_articles([SAMPLE_ARTICLE, copy])
    assert len(result.articles) == 1
    assert result.duplicates == 1


def test_jsonl_problems_name_file_and_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    lines = [
        json.dumps(
            {"title": "Good one", "url": "https://x.test/1", "text": "Russia launched drones. Ukraine responded."}
        ),
        "{not json",
        json.dumps({"title": "No text"}),
        "",
        json.dumps({"title": "Good two", "text": "Another article body here."}),
    ]
    path.write_text("\n".join(lines), "utf-8")
    result = read_articles([path])
    assert [a.title for a in result.articles] == ["Good one", "Good two"]
    assert [str(p) for p in result.problems] == [
        f"{path}:2: invalid JSON: Expecting property name enclosed in double quotes",
        f"{path}:3: 'text' must be a non-empty string",
    ]


def test_unreadable_inputs_are_reported_not_fatal(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"# Title\n\nCaf\xe9 opened.")
    untitled = tmp_path / "untitled.md"
    untitled.write_text("Just a paragraph.", "utf-8")
    (tmp_path / "data.csv").write_text("a,b\n", "utf-8")
    result = read_articles([bad, untitled, tmp_path / "missing.txt", tmp_path / "data.csv"])
    messages = [str(p) for p in result.problems]
    assert messages == [
        f"{bad}:3: not valid UTF-8",
        f"{untitled}:1: no '# Title' line found",
        f"{tmp_path / 'missing.txt'}: no such file or directory",
        f"{tmp_path / 'data.csv'}: unsupported file type .csv",
    ]
    assert result.articles == []
