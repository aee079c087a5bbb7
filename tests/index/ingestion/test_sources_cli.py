"""`build_index.py --feed / --sitemap / --wordpress` end to end with the real model: each source
kind builds an index whose articles answer `/v1/verify` with their provenance and exact offsets,
and running it again writes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sources_testing import LocalSite, Newsroom, article_page, story

from index.storage import layout
from service.processes import ROOT


@pytest.fixture(scope="module")
def newsroom():
    with LocalSite() as site:
        yield Newsroom(site)


def build(out, newsroom: Newsroom, *extra: str) -> subprocess.CompletedProcess:
    site = newsroom.site
    saved = out.parent / f"{out.name}-pages"
    saved.mkdir(exist_ok=True)
    (saved / "saved.html").write_text(
        article_page("A saved page", story(40), canonical="https://news.test/saved", published="2024-12-24"), "utf-8"
    )
    command = [
        sys.executable, "scripts/build_index.py", "--no-progress", "--out", str(out), "--interval", "0", str(saved),
        "--feed", site.url("/feed.rss"), "--feed", site.url("/feed.atom"), "--sitemap", site.url("/sitemap.xml"),
        "--since", "2025-01-01", "--wordpress", site.base, *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def synced(tmp_path_factory, onnx_dir, newsroom):
    out = tmp_path_factory.mktemp("synced")
    done = build(out, newsroom)
    assert done.returncode == 0, done.stderr
    return out, done


@pytest.fixture
def client(synced, embedder, nli):
    from index.verify import ClaimVerifier, load_index
    from service import create_app
    from service.config import Settings

    out, _ = synced
    verifier = ClaimVerifier(embedder, load_index(out), nli=nli)
    return create_app(Settings(index_dir=str(out), load_in_background=False), verifier=verifier).test_client()


@pytest.mark.parametrize(
    ("claim", "title", "path", "published"),
    [
        ("The council of district 1 approved a budget of 101 million euros", "Story 1", "/news/1", "2025-04-02"),
        ("Officials said 24 new buses would enter service", "Story 4", "/news/4", "2025-04-05"),
        ("Construction of 9 new schools in district 6 is expected", "Story 6", "/news/6", "2025-04-03"),
        ("A consultation drew 602 written comments", "Post 2", "/2/story-2/", "2025-04-01"),
        ("The council of district 40 approved a budget of 140 million euros", "A saved page", None, "2024-12-24"),
    ],
    ids=["rss-content", "atom-page", "sitemap-page", "wordpress", "html-file"],
)
def test_each_source_kind_answers_verify_with_provenance_and_exact_offsets(
    client, newsroom, claim, title, path, published
):
    answer = client.post("/v1/verify", json={"claim": claim, "top_k": 1}).get_json()
    best = answer["evidence"][0]
    assert best["article"]["title"] == title
    assert best["article"]["url"] == (newsroom.site.url(path) if path else "https://news.test/saved")
    assert best["article"]["published"] == published
    body = client.get(f"/v1/articles/{best['article']['id']}").get_json()["body"]
    assert body[best["start"] : best["end"]] == best["text"]
    assert answer["verdict"] == "supported"


def test_the_cli_summarises_and_a_second_run_writes_nothing(synced, newsroom):
    out, first = synced
    assert "created 10, updated 0, deleted 0, skipped 0" in first.stdout
    current = (out / layout.CURRENT).read_text()
    again = build(out, newsroom)
    assert again.returncode == 0, again.stderr
    assert "created 0, updated 0, deleted 0, skipped 0" in again.stdout
    assert "no new snapshot (nothing changed)" in again.stdout
    assert (out / layout.CURRENT).read_text() == current
