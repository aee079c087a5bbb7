"""Train the query adapter of review matching (index/reviews/adapter.py) into models/review-adapter/.

    .venv/bin/python scripts/train_review_adapter.py                 # train, write the artifact
    .venv/bin/python scripts/train_review_adapter.py --report-dev    # also score the dev tweets (reporting only)

Data: ../shared/claim_matching (CLEF 2020 CheckThat! Task 2, English; its **train** split only:
800 tweets, 801 (tweet, Snopes claim) pairs), every input pinned by sha256. The dev tweets are
never trained on nor used to choose anything; `--report-dev` scores them after training, for
the card.

1. Each Snopes claim's match text (claim + title, as a review's `match_text`) and each tweet's
   matching text (links and the post's signature left out, as `matching_text`) are embedded by
   the service's embedder (all-MiniLM-L6-v2, default backend), cached under --work.
2. The train tweets are split by a seeded permutation: `--holdout` of them (default 160) for
   early stopping, the rest to fit.
3. W (384 × 384) starts at the identity. Loss per fitted pair: cross-entropy of the pair's
   claim among **all** 10,375 claims (a softmax over cosine / `--temperature` of the adapted,
   re-normalised tweet vector against the fixed claim vectors: every other claim a negative,
   the nearest ones the hard negatives), plus `--pull` × ||W − I||² toward the identity. Adam,
   minibatches of `--batch`, `--epochs` epochs, seeded; one or two torch threads.
4. Every 5 epochs the held-out tweets are matched as the service matches (exact dense search
   with the adapted vector, BM25 over the same claim texts, reciprocal-rank fusion, first 5);
   the W with the best held-out MAP@5 is kept (the first best on ties).
5. Out: adapter.npy (float32), card.json (sha256, model, data, settings, figures) and the
   README of --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))  # the claim-matching data readers and MAP@5

from claim_matching import DATA, average_precision, qrels, read_tsv, snopes_rows  # noqa: E402

from index.common.fileio import sha256_file  # noqa: E402
from index.reviews.adapter import CARD_FILE, DEFAULT_ADAPTER_DIR, MATRIX_FILE, adapt  # noqa: E402

# ../shared/claim_matching/README.md's sha256 of each input read here.
INPUTS = {
    "snopes_verified_claims.tsv.gz": "1f81f35bda1a2fc1f354320c2c13cbc05fb9e06830402ede43d2eb86b2282474",
    "train_tweets.tsv": "2a110b8d59e5a654ca2dec4aa5cf35372604b9897f578817c6a1fdafa839fc1d",
    "train_qrels.tsv": "ac55470b772c7d5cd48f35762762c2fc345154e780aa8680c06bc572e955818f",
}
DEV_INPUTS = {
    "dev_tweets.tsv": "f2c6c8f69a7c2d897300739842081503966878d4f0c28af7aca64127c5571b20",
    "dev_qrels.tsv": "5c2bb709a4f154a9c9c8891da8920aa004c997b506c3b137a4518d65bd9edc2e",
}
EVAL_EVERY = 5


def check_inputs(names: dict[str, str]) -> None:
    for name, expected in names.items():
        digest = sha256_file(DATA / name)
        if digest != expected:
            raise SystemExit(f"{DATA / name}: sha256 {digest}, expected {expected}")


def snopes_texts() -> tuple[list[str], list[str]]:
    """(Snopes ids, match texts): the claim and its title, as a review's `match_text`."""
    from index.reviews.review import match_text

    ids, texts = [], []
    for vid, claim, title in snopes_rows():
        ids.append(vid)
        texts.append(match_text(" ".join(claim.split()), " ".join(title.split()) or None))
    return ids, texts


def tweets(split: str) -> tuple[list[str], list[str], list[set[str]]]:
    """(tweet ids, matching texts, relevant Snopes ids) of one split."""
    from index.reviews.matching import matching_text

    rows = read_tsv(DATA / f"{split}_tweets.tsv")
    relevant = qrels(split)
    return (
        [tid for tid, _ in rows],
        [matching_text(" ".join(text.split())[:1000]) for _, text in rows],
        [relevant.get(tid, set()) for tid, _ in rows],
    )


def embed(texts: list[str], cache: Path, threads: int) -> np.ndarray:
    """The texts' vectors by the service's embedder, cached by the texts' content."""
    import hashlib

    key = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache / f"vectors-{key}.npy"
    if path.is_file():
        return np.load(path)
    from index.retrieval.embedder import load_embedder

    vectors = np.asarray(load_embedder(threads=threads).encode(texts), dtype=np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


class Matcher:
    """The service's matching over fixed claim vectors: exact dense (FAISS, as the review index
    holds up to 20,000 reviews) with the query as given, BM25, reciprocal-rank fusion."""

    def __init__(self, vectors: np.ndarray, texts: list[str], ids: list[str]):
        from index.retrieval import ann
        from index.retrieval.lexical import LexicalIndex

        seqs = np.arange(1, len(ids) + 1, dtype=np.int64)
        self.ids = dict(zip(seqs.tolist(), ids, strict=True))
        self.dense = ann.build_vector_index(vectors, seqs, ann.choose_index_spec(len(seqs), flat_max=20_000))
        self.lexical = LexicalIndex.build(texts, seqs)
        self._bm25: dict[int, list[list[tuple[int, float]]]] = {}

    def map5(self, texts: list[str], queries: np.ndarray, relevant: list[set[str]], depth: int = 50) -> dict:
        from index.retrieval.lexical import reciprocal_rank_fusion

        key = hash(tuple(texts))
        if key not in self._bm25:
            self._bm25[key] = self.lexical.search(texts, depth)
        lexical = self._bm25[key]
        _, dense = self.dense.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
        ap, found_at = [], {1: 0, 5: 0, 50: 0}
        for row, gold in enumerate(relevant):
            fused = reciprocal_rank_fusion([[int(s) for s in dense[row] if s >= 0], [s for s, _ in lexical[row]]])
            best = [self.ids[s] for s in sorted(fused, key=lambda s: -fused[s])]
            ap.append(average_precision(best, gold))
            for k in found_at:
                found_at[k] += any(v in gold for v in best[:k])
        n = len(relevant)
        return {"map5": round(float(np.mean(ap)), 4), **{f"recall@{k}": round(v / n, 3) for k, v in found_at.items()}}


def train(args, claims: np.ndarray, queries: np.ndarray, targets: np.ndarray, evaluate) -> tuple[np.ndarray, list]:
    """W fitted on (query, target claim) pairs; `evaluate(W)` -> held-out MAP@5 picks the epoch."""
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    d = claims.shape[1]
    eye = torch.eye(d)
    residual = torch.nn.Parameter(torch.zeros(d, d))
    optimiser = torch.optim.Adam([residual], lr=args.lr)
    claims_t, queries_t, targets_t = torch.from_numpy(claims), torch.from_numpy(queries), torch.from_numpy(targets)
    order_rng = torch.Generator().manual_seed(args.seed)
    best_map, best_epoch, best = evaluate(np.eye(d, dtype=np.float32)), 0, np.eye(d, dtype=np.float32)
    history = [(0, best_map)]
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(queries_t), generator=order_rng)
        for start in range(0, len(order), args.batch):
            batch = order[start : start + args.batch]
            y = torch.nn.functional.normalize(queries_t[batch] @ (eye + residual), dim=1)
            loss = torch.nn.functional.cross_entropy(y @ claims_t.T / args.temperature, targets_t[batch])
            loss = loss + args.pull * (residual**2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if epoch % EVAL_EVERY == 0 or epoch == args.epochs:
            matrix = (eye + residual).detach().numpy().astype(np.float32)
            score = evaluate(matrix)
            history.append((epoch, score))
            print(f"epoch {epoch}: loss {loss.item():.3f}, held-out MAP@5 {score:.4f}", file=sys.stderr, flush=True)
            if score > best_map:
                best_map, best_epoch, best = score, epoch, matrix.copy()
    return best, history, best_epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_ADAPTER_DIR)
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "review-adapter", help="vector cache")
    parser.add_argument("--holdout", type=int, default=160, help="train tweets kept for early stopping (one fold)")
    parser.add_argument(
        "--folds", type=int, default=1, help="k > 1: k adapters, each early-stopped on its 1/k of the tweets, averaged"
    )
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--temperature", type=float, default=0.02)
    parser.add_argument("--pull", type=float, default=0.01, help="weight of ||W - I||^2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-dev", action="store_true", help="score the dev tweets with and without W")
    args = parser.parse_args()
    if not (DATA / "train_tweets.tsv").is_file():
        print(f"no claim-matching data at {DATA}", file=sys.stderr)
        return 1
    check_inputs(INPUTS)
    started = time.time()

    claim_ids, claim_texts = snopes_texts()
    claim_vectors = embed(claim_texts, args.work, args.threads)
    tweet_ids, tweet_texts, relevant = tweets("train")
    tweet_vectors = embed(tweet_texts, args.work, args.threads)
    position = {vid: i for i, vid in enumerate(claim_ids)}

    matcher = Matcher(claim_vectors, claim_texts, claim_ids)
    permutation = np.random.RandomState(args.seed).permutation(len(tweet_ids))
    folds = [np.sort(permutation[k :: args.folds]) for k in range(args.folds)] if args.folds > 1 else None
    held_outs = folds or [np.sort(permutation[: args.holdout])]
    matrices, fold_figures = [], []
    for k, held in enumerate(held_outs):
        fitted = np.setdiff1d(np.arange(len(tweet_ids)), held)
        pairs = [(i, position[v]) for i in fitted for v in sorted(relevant[i]) if v in position]
        queries = tweet_vectors[[i for i, _ in pairs]]
        targets = np.array([t for _, t in pairs], dtype=np.int64)
        held_texts = [tweet_texts[i] for i in held]
        held_relevant = [relevant[i] for i in held]

        def evaluate(matrix: np.ndarray, held=held, held_texts=held_texts, held_relevant=held_relevant) -> float:
            return matcher.map5(held_texts, adapt(tweet_vectors[held], matrix), held_relevant)["map5"]

        print(f"fold {k + 1}/{len(held_outs)}: {len(pairs)} pairs fitted, {len(held)} tweets held out", file=sys.stderr)
        matrix, history, best_epoch = train(args, claim_vectors, queries, targets, evaluate)
        matrices.append(matrix)
        fold_figures.append(
            {
                "tweets_fitted": len(fitted),
                "pairs_fitted": len(pairs),
                "tweets_held_out": len(held),
                "plain": matcher.map5(held_texts, tweet_vectors[held], held_relevant),
                "adapted": matcher.map5(held_texts, adapt(tweet_vectors[held], matrix), held_relevant),
                "epoch_kept": best_epoch,
                "held_out_map5_every_5_epochs": history,
            }
        )
    matrix = np.mean(matrices, axis=0).astype(np.float32)  # one fold: that fold's W
    identity = np.eye(matrix.shape[0], dtype=np.float32)
    figures = {
        "held_out_train_tweets": fold_figures,
        "held_out_map5_mean": {
            kind: round(float(np.mean([f[kind]["map5"] for f in fold_figures])), 4) for kind in ("plain", "adapted")
        },
        "relative_change": round(float(np.linalg.norm(matrix - identity) / np.linalg.norm(identity)), 4),
    }
    if args.report_dev:
        check_inputs(DEV_INPUTS)
        _, dev_texts, dev_relevant = tweets("dev")
        dev_vectors = embed(dev_texts, args.work, args.threads)
        figures["dev_tweets_offline"] = {
            "tweets": len(dev_texts),
            "plain": matcher.map5(dev_texts, dev_vectors, dev_relevant),
            "adapted": matcher.map5(dev_texts, adapt(dev_vectors, matrix), dev_relevant),
        }

    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / MATRIX_FILE, matrix)
    import torch

    card = {
        "what": "query adapter of review matching: y = normalise(x @ W), x an all-MiniLM-L6-v2 claim vector",
        "model": "all-MiniLM-L6-v2",
        "dimension": int(matrix.shape[0]),
        "sha256": sha256_file(args.out / MATRIX_FILE),
        "data": {
            "source": "CLEF 2020 CheckThat! Task 2 English v3.0 (../shared/claim_matching), train split only",
            "inputs_sha256": INPUTS,
            "claims": len(claim_ids),
            "train_tweets": len(tweet_ids),
        },
        "training": {
            "command": "scripts/train_review_adapter.py " + " ".join(sys.argv[1:]),
            "loss": "cross-entropy over all claims (cosine / temperature) + pull * ||W - I||^2",
            **{k: getattr(args, k) for k in ("epochs", "batch", "lr", "temperature", "pull", "seed", "threads")},
            "holdout": args.holdout if args.folds == 1 else None,
            "folds": args.folds,
            "torch": torch.__version__,
            "seconds": round(time.time() - started),
        },
        "figures": figures,
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", "utf-8")
    print(json.dumps(card, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
