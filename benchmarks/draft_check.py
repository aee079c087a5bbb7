"""How long one /v1/drafts/check takes for a 1,000-word draft on the 100k benchmark index, judge on.

    .venv/bin/python benchmarks/draft_check.py                 # 10 drafts of ~1,000 words, 1 thread
    .venv/bin/python benchmarks/draft_check.py --threads 2     # the same with both cores
    .venv/bin/python benchmarks/draft_check.py --transcript 1000 --drafts 3 \
        --index var/bench/reviews-real-politifact/index        # 1,000-line debate transcripts, PolitiFact's reviews

One process, as a gunicorn worker runs it (`MODEL_THREADS` threads for ONNX Runtime and
FAISS), the real app through Flask's test client (no socket), one draft at a time. The
index and claims are serving_load.py's (the synthetic 100k-sentence corpus, built once
into var/bench/). A draft is `--words` words of those claims in paragraphs of five, each
paragraph closed by a question and a quotation (sentences that are not claims), so most
sentences are claims: the costly case. Reported: sentences, claims and judged pairs per
draft, and the request's p50 / p95 / max; the issue's target is 1.5 s with the judge on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from harness import (
    ROOT,
    bench_dir,
    ensure_onnx_export,
    machine,
    percentile,
    table,
    write_json,
)  # first: the path and offline flags

PARAGRAPH_CLOSERS = ["Is that the whole story?", '"We will see what happens," one of them said.']
# What a debate's moderator says between the candidates' claims: greetings, questions, procedure
# (tests/index/test_drafts.py reads the same lines).
PROCEDURE = (ROOT / "tests" / "data" / "moderator_lines.txt").read_text("utf-8").splitlines()


def make_transcript(sentences: list[str], lines: int, seed: int) -> str:
    """A debate transcript of `lines` turns (`speaker<TAB>text`): candidates saying the given
    sentences, a moderator's procedure between them (one line in three)."""
    rng = random.Random(seed)
    turns = []
    for n in range(lines):
        if n % 3 == 0:
            turns.append(f"MODERATOR\t{rng.choice(PROCEDURE)}")
        else:
            turns.append(f"{rng.choice(['CANDIDATE A', 'CANDIDATE B'])}\t{rng.choice(sentences)}")
    return "\n".join(turns) + "\n"


def make_drafts(claims: list[str], count: int, words: int, seed: int) -> list[str]:
    """`count` drafts of about `words` words each, from the claims, in paragraphs of five claims."""
    rng = random.Random(seed)
    drafts = []
    for _ in range(count):
        paragraphs, paragraph, total = [], [], 0
        while total < words:
            claim = rng.choice(claims)
            paragraph.append(claim)
            total += len(claim.split())
            if len(paragraph) == 5:
                paragraphs.append(" ".join([*paragraph, *PARAGRAPH_CLOSERS]))
                total += sum(len(c.split()) for c in PARAGRAPH_CLOSERS)
                paragraph = []
        if paragraph:
            paragraphs.append(" ".join(paragraph))
        drafts.append("\n\n".join(paragraphs))
    return drafts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Latency of /v1/drafts/check for ~1,000-word drafts (judge on).")
    parser.add_argument("--index", help="this index directory instead of the synthetic one")
    parser.add_argument("--sentences", type=int, default=100_000, help="size of the synthetic corpus")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--drafts", type=int, default=10)
    parser.add_argument("--words", type=int, default=1000)
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="MODEL_THREADS (a worker's default: 1)")
    parser.add_argument("--no-judge", action="store_true", help="without the NLI judge (the degraded mode)")
    parser.add_argument(
        "--transcript",
        type=int,
        metavar="LINES",
        help="debate transcripts of LINES turns instead: the 591 PolitiFact-checked debate sentences "
        "(../shared/claim_matching/politifact) and a moderator's procedure; best with "
        "--index var/bench/reviews-real-politifact/index (review_matching.py --real politifact makes it)",
    )
    args = parser.parse_args(argv)
    ensure_onnx_export()

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # before numpy and FAISS load
        os.environ[var] = str(args.threads)
    import serving_load

    from index.judging.nli import load_nli
    from index.retrieval.embedder import load_embedder
    from index.verify import ClaimVerifier, load_index
    from service import create_app
    from service.config import Settings

    index_dir, _ = serving_load.ensure_index(args)
    if args.transcript:
        from claim_matching import politifact_sentences

        said = sorted(set(politifact_sentences().values()))
        drafts = [make_transcript(said, args.transcript, args.seed + n) for n in range(args.drafts + 1)]
    else:
        claims = json.loads(serving_load.ensure_claims(index_dir, 2000, args.seed).read_text("utf-8"))
        drafts = make_drafts(claims, args.drafts + 1, args.words, args.seed)
    judge = None if args.no_judge else load_nli(threads=args.threads)
    verifier = ClaimVerifier(load_embedder(threads=args.threads), load_index(index_dir), nli=judge)
    longest = max(len(d) for d in drafts)
    client = create_app(
        Settings(index_dir=str(index_dir), max_draft_chars=max(longest, Settings().max_draft_chars)), verifier=verifier
    ).test_client()

    def check(text: str) -> tuple[float, dict]:
        started = time.perf_counter()
        response = client.post("/v1/drafts/check", json={"text": text, "top_k": args.top_k})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return time.perf_counter() - started, response.json

    def pairs() -> int:
        return judge.stats()["pairs"] if judge else 0

    check(drafts[0])  # warm-up
    rows = []
    for text in drafts[1:]:
        pairs_before = pairs()
        seconds, body = check(text)
        sentences = body["sentences"]
        row = {"words": len(text.split()), "sentences": len(sentences), "claims": sum(s["is_claim"] for s in sentences)}
        row["already_checked"] = len(body["summary"]["already_checked"])
        row["procedure_flagged"] = sum(
            s["speaker"] == "MODERATOR" and bool(s["verification"]) and s["verification"]["already_checked"]
            for s in sentences
        )
        row["chars"] = len(text)
        rows.append(row | {"seconds": seconds, "pairs": pairs() - pairs_before})
    times = [r["seconds"] * 1000 for r in rows]
    kinds = ("words", "chars", "sentences", "claims", "pairs", "already_checked", "procedure_flagged")
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in kinds}
    result = {
        "index": str(index_dir),
        "sentences_indexed": verifier.index.view().size,
        "threads": args.threads,
        "judge": judge.name if judge else None,
        "drafts": len(rows),
        **{f"mean_{k}": round(v, 1) for k, v in mean.items()},
        **{f"p{q}_ms": round(percentile(times, q), 1) for q in (50, 95)},
        "max_ms": round(max(times), 1),
        "machine": machine(),
    }
    result["transcript_lines"] = args.transcript
    kind = f"-transcript{args.transcript}" if args.transcript else ""
    out = write_json(
        bench_dir() / f"draft_check{kind}-t{args.threads}{'-nojudge' if judge is None else ''}.json", result
    )
    print(json.dumps(result, indent=1) + "\n")
    cells = [f"{mean[k]:.0f}" for k in ("words", "sentences", "claims", "pairs")]
    row = [args.threads, "on" if judge else "off", *cells, result["p50_ms"], result["p95_ms"], result["max_ms"]]
    print(table("threads | judge | words | sentences | claims | judged pairs | p50 ms | p95 ms | max ms", [row]))
    print(f"(written to {out.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
