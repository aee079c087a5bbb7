"""Reviews: the newsroom's own verdicts on claims ("already checked"), kept beside the articles.

    review.py       the `Review` record, its rating and how a rating becomes a verdict; ids
    store.py        reviews in the archive (same transaction and generation discipline as articles),
                    and editors' "not the same claim" marks
    claimreview.py  schema.org ClaimReview (JSON-LD), a PolitiFact export, JSONL and CSV in;
                    ClaimReview JSON-LD out
    matching.py     `ReviewIndex`: dense + BM25 over the reviewed claims, per generation; `match_reviews`
    adapter.py      the learned query adapter of the dense search (models/review-adapter/; off by default)
    same_claim.py   the one decision that a review covers a claim (its fitted weights and cut-off),
                    and the reasons an editor reads

Imports `index.common`, `index.documents`, `index.storage`, `index.retrieval` and `index.judging`;
no ingestion. `service/reviews.py` is the HTTP shell, `scripts/import_reviews.py` the importer.
"""
