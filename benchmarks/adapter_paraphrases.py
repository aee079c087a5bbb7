"""Does the reviews' query adapter (fitted on tweets) cost a newsroom's cleaner paraphrases?

    .venv/bin/python benchmarks/adapter_paraphrases.py                 # 4,000 reviews, 600 claims

Reviews: distinct sentences of the synthetic news corpus (seed 23, as review_matching.py's).
Claims: some of them paraphrased by the corpus generator (trailing clause dropped, synonyms
swapped), so each claim's one relevant review is its own sentence. Dense search alone, exact
cosine, with the claim's plain vector and with the adapted one: recall@1 and MRR@5.
"""

from __future__ import annotations

import argparse
import random
import sys

from harness import command, machine, table  # first: the path and offline flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviews", type=int, default=4000)
    parser.add_argument("--claims", type=int, default=600)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)

    import numpy as np
    import synthetic_corpus
    from review_matching import review_texts

    from index import load_adapter, load_embedder

    texts = review_texts(args.reviews)
    rng = random.Random(args.seed)
    picked = rng.sample(range(len(texts)), args.claims)
    claims = [synthetic_corpus._paraphrase(texts[i], rng) for i in picked]
    embedder = load_embedder()
    reviews, plain = embedder.encode(texts), embedder.encode(claims)
    adapter = load_adapter(model=embedder.name, dimension=embedder.dimension)
    rows = []
    for name, vectors in (("plain vector", plain), (f"adapter {adapter.sha256[:12]}", adapter.apply(plain))):
        top5 = np.argsort(-(vectors @ reviews.T), axis=1)[:, :5]
        ranks = [list(row).index(i) + 1 if i in row else None for row, i in zip(top5, picked, strict=True)]
        recall_at_1 = sum(rank == 1 for rank in ranks) / len(ranks)
        mrr = sum(1 / rank for rank in ranks if rank) / len(ranks)
        rows.append([name, f"{recall_at_1:.3f}", f"{mrr:.3f}"])
    print(f"# The adapter on clean paraphrases ({command()})\n\n{machine()}\n")
    print(f"{len(texts)} reviews, {len(claims)} paraphrased claims, dense search alone\n")
    print(table("claim vector | recall@1 | MRR@5", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
