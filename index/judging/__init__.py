"""Judging: from a claim and its candidate sentences to a verdict, with reasons and confidence.
Imports `index.common`, `index.documents`, `index.retrieval` (the ONNX session, the batcher, the
tokenizer) and, from `index.storage`, only its frozen records: judging never writes the archive.

    nli.py         the NLI judge on ONNX Runtime (nli_export.py makes the graph)
    nli_export.py  the judge's ONNX export and its self-check pairs
    checks.py      claim-vs-sentence checks that explain (figures, dates, names, negation)
    stance.py      every verdict rule: judge cut-offs, vetoes, verdict, confidence; the rules file
"""
