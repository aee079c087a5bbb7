"""MkDocs hook: the reference page lists the engine's public surface as `index/__init__.py`
names it (`_PUBLIC`), so the page cannot drift from the code."""

from __future__ import annotations

import ast
from pathlib import Path

MARKER = "<!-- the public surface -->"


def public_surface() -> dict[str, tuple[str, str]]:
    """name -> (module, attribute), read from index/__init__.py without importing it."""
    tree = ast.parse((Path(__file__).resolve().parent.parent / "index" / "__init__.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_PUBLIC" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("index/__init__.py has no _PUBLIC")


def on_page_markdown(markdown: str, page, config, files) -> str:  # MkDocs calls it with these
    if MARKER not in markdown:
        return markdown
    blocks = [
        f'::: {module}.{attribute}\n    options:\n      heading: "{name}"\n'
        for name, (module, attribute) in sorted(public_surface().items())
    ]
    return markdown.replace(MARKER, "\n".join(blocks))
