"""Check claims against the service from the command line (or a publishing pipeline).

    python scripts/verify.py "Russia launched 133 drones"
    printf 'claim one\nclaim two\n' | python scripts/verify.py --json
    python scripts/verify.py --draft story.txt      # a whole draft (- reads it from stdin)
    python scripts/verify.py --draft debate.tsv     # a transcript: one `speaker<TAB>text` line a turn

Exit status: 0 all supported, 1 any contradicted or mixed, 2 any not found (none
contradicted), 3 on error (bad input, service unreachable or not ready). For a draft,
the same over its claims, so a publishing pipeline can stop on 1. The newsroom's reviews
of the claim are printed first when one covers it ("ALREADY CHECKED"), then beside the
evidence; they do not change the exit status, which follows the service's own verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from client import ClaimCheckClient, ClaimCheckError, DraftResult, VerifyResult

EXIT_SUPPORTED, EXIT_CONTRADICTED, EXIT_NOT_FOUND, EXIT_ERROR = 0, 1, 2, 3


def exit_code(results: list[VerifyResult]) -> int:
    verdicts = {r.verdict for r in results}
    if verdicts & {"contradicted", "mixed"}:
        return EXIT_CONTRADICTED
    if "not_found" in verdicts:
        return EXIT_NOT_FOUND
    return EXIT_SUPPORTED


# Reviews that do not cover the claim (same_claim false) printed at most, as related reading.
RELATED_REVIEWS_SHOWN = 2


def render_review(review: dict) -> str:
    rating = review["rating"]["text"]
    by = f"{review['reviewed_by']}, {review['reviewed_at'][:10]}"
    kind = "same claim" if review["same_claim"] else "related"
    said = f"{review['verdict']}" + (f' ("{rating}")' if rating and rating.lower() != review["verdict"] else "")
    return f"   review {review['score']:.2f} {kind:<10} {said} by {by}: {review['claim']}" + (
        f" {review['url']}" if review["url"] else ""
    )


def render(result: VerifyResult, width: int) -> str:
    lines = []
    if result.already_checked:
        lines.append(f"ALREADY CHECKED: {result.review_verdict} (the newsroom's review below); the model says:")
    lines.append(f"{result.verdict.upper():<13} {result.confidence:.0%} confidence   {result.claim}")
    for i, e in enumerate(result.evidence):
        marker = "*" if i == result.decided_by else " "
        source = e["article"]["title"] + (f" ({e['article']['published']})" if e["article"]["published"] else "")
        lines.append(f" {marker} {e['score']:.2f} {e['stance']:<11} {source}")
        lines.extend(textwrap.wrap(e["text"], width=max(40, width - 8), initial_indent="        ",
                                   subsequent_indent="        "))  # fmt: skip
        for reason in e["reasons"]:
            if reason["kind"] != "not_mentioned":
                lines.append(f"        - {reason['message']}")
        if e["article"]["url"]:
            lines.append(f"        {e['article']['url']}")
    same = [r for r in result.reviews if r["same_claim"]]
    related = [r for r in result.reviews if not r["same_claim"]][:RELATED_REVIEWS_SHOWN]
    lines.extend(render_review(r) for r in same + related)
    lines.extend(f"   warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def render_draft(draft: DraftResult, width: int) -> str:
    """The draft's sentences in order: each claim with its verdict and deciding source, the rest marked."""
    lines = []
    for s in draft.sentences:
        said = f"{s.speaker}: {s.text}" if s.speaker else s.text
        if s.result is None:
            lines.append(f"{'-':<13} {'':>4}  {said}")
            lines.append(f"{'':<20}(not a claim: {s.reason})")
            continue
        r = s.result
        lines.append(f"{r.verdict.upper():<13} {r.confidence:>4.0%}  {said}")
        if r.already_checked:
            lines.append(f"{'':<20}(already checked: reviewed as {r.review_verdict})")
        decisive = r.decisive
        if decisive is not None:
            source = decisive["article"]["title"] + (
                f" ({decisive['article']['published']})" if decisive["article"]["published"] else ""
            )
            said = f"{decisive['stance']}: {decisive['text']} [{source}]"
            lines.extend(textwrap.wrap(said, width=max(40, width - 20), initial_indent=" " * 20,
                                       subsequent_indent=" " * 20))  # fmt: skip
    counts = ", ".join(f"{n} {verdict.replace('_', ' ')}" for verdict, n in draft.counts.items() if n)
    lines.append("")
    lines.append(f"{len(draft.claims)} claims in {len(draft.sentences)} sentences: {counts}")
    if draft.already_checked:
        lines.append(f"already checked: {len(draft.already_checked)} of the claims (a review covers them)")
    if draft.look_first:
        lines.append("look first at:")
        lines.extend(
            f"  {draft.sentences[i].result.verdict.upper():<13} {draft.sentences[i].text}" for i in draft.look_first
        )
    return "\n".join(lines)


def _failed(exc: ClaimCheckError) -> int:
    """Say what the service refused (with its per-field errors) on stderr; the error exit status."""
    details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
    print(f"error: {exc.message}" + (f" ({details})" if details else ""), file=sys.stderr)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check claims against the claim verification service.")
    parser.add_argument("claims", nargs="*", help="claims; read one per line from stdin when none are given")
    parser.add_argument("--url", default=os.environ.get("CLAIMCHECK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--draft", metavar="FILE", help="check a whole draft (FILE, or - for stdin)")
    parser.add_argument("--published", help="with --draft: the draft's date (YYYY-MM-DD); later articles are not used")
    args = parser.parse_args(argv)
    if args.draft:
        return check_draft(args)

    claims = [c.strip() for c in (args.claims or sys.stdin.read().splitlines()) if c.strip()]
    if not claims:
        print("error: no claim given (pass claims as arguments or one per line on stdin)", file=sys.stderr)
        return EXIT_ERROR
    client = ClaimCheckClient(args.url, timeout=args.timeout)
    try:
        if len(claims) == 1:
            results = [client.verify(claims[0], top_k=args.top_k)]
        else:  # the API takes up to 64 claims per batch
            results = [
                r for i in range(0, len(claims), 64) for r in client.verify_batch(claims[i : i + 64], args.top_k)
            ]
    except ClaimCheckError as exc:
        return _failed(exc)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False))
    else:
        width = shutil.get_terminal_size((100, 20)).columns
        print("\n\n".join(render(r, width) for r in results))
    return exit_code(results)


def check_draft(args: argparse.Namespace) -> int:
    if args.claims:
        print("error: give either claims or --draft, not both", file=sys.stderr)
        return EXIT_ERROR
    try:
        text = sys.stdin.read() if args.draft == "-" else Path(args.draft).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read the draft: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if not text.strip():
        print("error: the draft is empty", file=sys.stderr)
        return EXIT_ERROR
    try:
        draft = ClaimCheckClient(args.url, timeout=args.timeout).check_draft(
            text, top_k=args.top_k, published=args.published
        )
    except ClaimCheckError as exc:
        return _failed(exc)
    if args.json:
        print(json.dumps(asdict(draft), indent=2, ensure_ascii=False))
    else:
        print(render_draft(draft, shutil.get_terminal_size((100, 20)).columns))
    return exit_code([s.result for s in draft.claims])


if __name__ == "__main__":
    sys.exit(main())
