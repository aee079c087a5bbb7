"""Article endpoints: add, replace, list, read and delete articles in the live index."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, request, url_for

from index import ArticleSummary, RecordError
from service.auth import READ, WRITE, requires
from service.engine import get_verifier, get_writer
from service.errors import ApiError
from service.metrics import count_writes
from service.openapi import ARTICLE, BODY, ENGINE, QUERY, gives
from service.parsing import load_json_body
from service.schemas import (
    ArticleListQuerySchema,
    ArticleListSchema,
    ArticleSchema,
    ArticlesWrittenSchema,
    current_request_schemas,
)

bp = Blueprint("articles", __name__)

_NOT_FOUND = "No article with this id (it may have been deleted)."


def _summary(summary: ArticleSummary) -> dict:
    data = asdict(summary)
    data["sentence_count"] = data.pop("sentences")
    return data


@bp.post("/v1/articles")
@gives(BODY, ENGINE)
@requires(WRITE)
def put_articles():
    """Add or replace articles.
    ---
    post:
      summary: Add or replace one article or a list of them
      description: >
        The body is one article object, or a JSON array of them (`ArticleBatch`). Each is split into
        sentences and embedded; all are committed in one transaction, which every worker
        sees on its next request. An article whose id exists is replaced: its old sentences
        no longer appear in results. Re-posting identical content changes nothing.
        Needs a key with the `write` role.
      security: [{bearerAuth: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              oneOf:
                - $ref: '#/components/schemas/ArticleIn'
                - $ref: '#/components/schemas/ArticleBatch'
      responses:
        201:
          description: Stored (and durable); `generation` is the index version that includes the write.
          content:
            application/json:
              schema: ArticlesWrittenSchema
        409:
          description: >
            An article changed (through another host or request) while this write was prepared:
            nothing was written. Read it again, then write.
          content:
            application/json:
              schema: ErrorSchema
        503:
          description: >
            The shared archive (ARCHIVE_URL) cannot take writes now: nothing was written; retry
            after `Retry-After` seconds. Reads keep being answered.
          content:
            application/json:
              schema: ErrorSchema
    """
    body = load_json_body(None)
    schemas = current_request_schemas()
    if isinstance(body, list):
        records = schemas.articles.load({"articles": body})["articles"]
    else:
        records = [schemas.article.load(body)]
    try:
        result = get_writer().put_articles(records)
    except RecordError as exc:
        field = str(exc.position) if isinstance(body, list) else "_schema"
        raise ApiError(422, "validation_error", "An article could not be indexed.", {field: [exc.message]}) from None
    count_writes([a.status for a in result.articles])
    headers = {}
    if len(result.articles) == 1:
        headers["Location"] = url_for("articles.get_article", article_id=result.articles[0].id)
    payload = {"generation": result.generation, "articles": [asdict(a) for a in result.articles]}
    return ArticlesWrittenSchema().dump(payload), 201, headers


@bp.get("/v1/articles")
@gives(QUERY, ENGINE)
@requires(READ)
def list_articles():
    """List articles.
    ---
    get:
      summary: List the archive's articles, newest first
      parameters:
        - in: query
          schema: ArticleListQuerySchema
      responses:
        200:
          description: One page; pass `next_cursor` as `cursor` for the next.
          content:
            application/json:
              schema: ArticleListSchema
    """
    args = ArticleListQuerySchema().load(request.args)
    archive = get_verifier().index.archive
    items, next_cursor = archive.list_articles(
        limit=args["limit"],
        cursor=args["cursor"],
        published_after=args["published_after"] and args["published_after"].isoformat(),
        published_before=args["published_before"] and args["published_before"].isoformat(),
    )
    return ArticleListSchema().dump({"articles": [_summary(a) for a in items], "next_cursor": next_cursor})


@bp.get("/v1/articles/<string:article_id>")
@gives(ARTICLE, ENGINE)
@requires(READ)
def get_article(article_id: str):
    """Read one article.
    ---
    get:
      summary: An article's metadata, body and indexed sentences (with offsets into the body)
      parameters:
        - {in: path, name: article_id, required: true, schema: {type: string}}
      responses:
        200:
          description: The article.
          content:
            application/json:
              schema: ArticleSchema
    """
    detail = get_verifier().index.archive.get_article(article_id)
    if detail is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    data = {**_summary(detail.summary), "body": detail.body, "sentences": [asdict(s) for s in detail.sentences]}
    return ArticleSchema().dump(data)


@bp.delete("/v1/articles/<string:article_id>")
@gives(ARTICLE, ENGINE)
@requires(WRITE)
def delete_article(article_id: str):
    """Delete an article.
    ---
    delete:
      summary: Remove an article; its sentences stop appearing in results at once
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: article_id, required: true, schema: {type: string}}
      responses:
        204:
          description: Deleted (and durable).
    """
    if get_writer().delete_article(article_id) is None:
        raise ApiError(404, "not_found", _NOT_FOUND)
    count_writes(["deleted"])
    return "", 204
