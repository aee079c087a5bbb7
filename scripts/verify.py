"""Check claims against the service from the command line (or a publishing pipeline).

    python scripts/verify.py "Russia launched 133 drones"
    printf 'claim one\nclaim two\n' | python scripts/verify.py --json

Exit status: 0 all supported, 1 any contradicted or mixed, 2 any not found (none
contradicted), 3 on error (bad input, service unreachable or not ready).
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

from client import ClaimCheckClient, ClaimCheckError, VerifyResult

EXIT_SUPPORTED, EXIT_CONTRADICTED, EXIT_NOT_FOUND, EXIT_ERROR = 0, 1, 2, 3


def exit_code(results: list[VerifyResult]) -> int:
    verdicts = {r.verdict for r in results}
    if verdicts & {"contradicted", "mixed"}:
        return EXIT_CONTRADICTED
    if "not_found" in verdicts:
        return EXIT_NOT_FOUND
    return EXIT_SUPPORTED


def render(result: VerifyResult, width: int) -> str:
    lines = [f"{result.verdict.upper():<13} {result.confidence:.0%} confidence   {result.claim}"]
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
    lines.extend(f"   warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check claims against the claim verification service.")
    parser.add_argument("claims", nargs="*", help="claims; read one per line from stdin when none are given")
    parser.add_argument("--url", default=os.environ.get("CLAIMCHECK_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

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
        details = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
        print(f"error: {exc.message}" + (f" ({details})" if details else ""), file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2, ensure_ascii=False))
    else:
        width = shutil.get_terminal_size((100, 20)).columns
        print("\n\n".join(render(r, width) for r in results))
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
