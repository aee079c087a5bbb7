"""The editors' verification page: static HTML, CSS and JS served by the app itself (no CDN)."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("ui", __name__)


@bp.get("/")
def page():
    """The verification page.
    ---
    get:
      summary: Verification page for editors (HTML)
      responses:
        200:
          description: The page; its script calls /v1/verify, /v1/verify/batch and /v1/drafts/check,
            and POST /v1/reviews with the editor's key when an editor records a review.
          content:
            text/html: {}
    """
    return current_app.send_static_file("index.html")
