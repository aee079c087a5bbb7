"""Checking a whole draft: draft → sentences with offsets → claims → verifications → summary.

An editor pastes 600–1,200 words; each sentence is either a **claim**, worth checking, or
**not a claim** (a question, a quotation of someone's view, an opinion or a prediction, a
transition), and every claim is verified in one batch through `ClaimVerifier.verify_claims`,
the path of `/v1/verify/batch`.

The claim classifier is a few readable rules, each with a reason an editor can see ("states
a figure: 15 cents"). Measured on `tests/data/draft_sentences.jsonl`, 203 hand-written
draft sentences on 22 subjects, none about the sample article: "claim" precision and
recall 0.968 / 0.968 on the 60 written after the rules and never used to change them
(docs/api.md, "Checking a draft", also for the other splits; `tests/index/test_drafts.py` asserts the figures).
The word lists are plain English (modal verbs, first-person pronouns, common news verbs),
not any article's vocabulary.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.documents.sentences import split_sentences
from index.judging.checks import (
    _NOT_ENTITIES,
    CALENDAR_YEAR,
    Quantity,
    calendar_names,
    extract_quantities,
    named_entities,
)
from index.judging.stance import CONTRADICTED, MIXED, NOT_FOUND, VERDICTS
from index.reviews.same_claim import speaker_reason
from index.verify import ArticleFilter, ClaimVerifier, Verification

# Why a sentence is (not) a claim: machine-readable kinds, with a message for people.
FIGURE, DATE, NAME, EVENT = "figure", "date", "name", "event"
QUESTION, QUOTATION, OPINION, NO_FACT = "question", "quotation", "opinion", "no_fact"
CLAIM_KINDS = (FIGURE, DATE, NAME, EVENT)
NOT_CLAIM_KINDS = (QUESTION, QUOTATION, OPINION, NO_FACT)
# The order in which an editor should look at the checked claims.
LOOK_FIRST = (CONTRADICTED, MIXED, NOT_FOUND)

# Modal and hedging words that make a sentence a view or a forecast rather than a report
# ("the bank should cut rates", "analysts expect a recount"), unless it also states a
# figure or date, which can be checked either way.
_OPINION_WORDS = {
    "should", "ought", "might", "may", "could", "would", "must", "expect", "expects", "expected", "believe",
    "believes", "think", "thinks", "seem", "seems", "perhaps", "probably", "hopefully", "deserve", "deserves",
    "urge", "urges", "argue", "argues", "claim", "say", "says", "feel", "feels", "hope", "hopes", "worry",
    "worried", "fear", "fears", "will",
}  # fmt: skip
# Past-tense and present verbs of events a newsroom reports: a sentence built on one states
# that something happened, which the archive can confirm or deny.
_EVENT_VERBS = {
    "won", "lost", "beat", "voted", "elected", "signed", "approved", "rejected", "passed", "vetoed", "banned",
    "closed", "opened", "launched", "announced", "resigned", "appointed", "fired", "hired", "died", "killed",
    "injured", "wounded", "arrested", "charged", "convicted", "sentenced", "acquitted", "sued", "fined",
    "ruled", "declared", "recalled", "sold", "bought", "acquired", "merged", "raised", "cut", "fell", "rose",
    "dropped", "grew", "shrank", "increased", "decreased", "doubled", "halved", "built", "destroyed",
    "burned", "flooded", "collapsed", "crashed", "exploded", "attacked", "invaded", "withdrew", "struck",
    "shot", "scored", "finished", "kept", "conceded", "published", "released", "discovered", "detected",
    "found", "confirmed", "denied", "admitted", "reported", "recorded", "issued", "ordered", "evacuated",
    "laid", "agreed", "settled", "paid", "spent", "borrowed", "lent", "invested", "founded", "established",
    "dissolved", "suspended", "cancelled", "canceled", "postponed", "delayed", "reached", "exceeded",
}  # fmt: skip
# Words that count a thing without saying how many of it ("one resident said").
_VAGUE_FIGURES = {"a", "an", "one", "single"}
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|we|We|we're|our|Our|us|my|My|me)\b")
_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]+)[\"“”«»]")
# A named source's reported statement ("Christine Lagarde said the bank would …"): what was
# said, and by whom, can be checked even when what was said is a forecast.
_SAID_BY = re.compile(r"(?P<who>(?:[A-Z][\w.'’-]+ )+)(?:said|told|announced|wrote|testified|stated)\b")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


@dataclass(frozen=True)
class ClaimReason:
    """Why a sentence is or is not a claim: `kind` (FIGURE … NO_FACT) and a message."""

    kind: str
    message: str

    @property
    def is_claim(self) -> bool:
        return self.kind in CLAIM_KINDS


def _figures(quantities: list[Quantity]) -> list[str]:
    """The figures (not years: see `_dates`) written as numbers or number words, as written."""
    return [
        q.text
        for q in quantities
        if q.unit != CALENDAR_YEAR
        and (q.figure or q.text).lower() not in _VAGUE_FIGURES
        and not (q.unit is None and q.value == 1)
    ]


def _dates(text: str, quantities: list[Quantity]) -> list[str]:
    """Weekdays and months (not "May", which may open a sentence as a verb) and years."""
    names = [w.title() for w in calendar_names(text) if w != "may"]
    return names + [q.text for q in quantities if q.unit == CALENDAR_YEAR]


def _names(text: str) -> list[str]:
    """Names: capitalised words after the first word, or a capitalised run that starts the sentence."""
    opening = text.lstrip("\"“'‘( ")
    return [
        name
        for name in named_entities(text)
        # "Farmers are worried": one capitalised word, capitalised because it starts the sentence
        if not (opening.startswith(name) and " " not in name and not re.search(r"[A-Z].*[A-Z]", name))
    ]


def _mostly_quoted(text: str) -> bool:
    quoted = sum(len(m.group(1)) for m in _QUOTED.finditer(text))
    return quoted >= 0.5 * len(text.strip())


def classify_sentence(text: str) -> ClaimReason:
    """Whether a sentence of a draft is a claim worth checking, and why (pure; no model).

    In order: a question is not a claim; a figure or a date makes it one (it can be checked
    even inside a quotation or a forecast), and so does a named source's reported statement
    outside quotation marks; a sentence that is mostly a quotation, or that hedges or
    prescribes ("should", "expect", "will"), is someone's view; otherwise a name or a
    reported event makes it a claim, and nothing of these makes it none.
    """
    stripped = text.strip()
    if stripped.rstrip("\"”’')").endswith("?"):
        return ClaimReason(QUESTION, "a question")
    quantities = extract_quantities(stripped)
    if figures := _figures(quantities):
        return ClaimReason(FIGURE, f"states a figure: {figures[0]}")
    if dates := _dates(stripped, quantities):
        return ClaimReason(DATE, f"gives a date: {dates[0]}")
    names = _names(stripped)
    quoted = _mostly_quoted(stripped)
    speaker = _SAID_BY.search(stripped)
    who = speaker.group("who").strip() if speaker else ""
    # A source that opens the sentence ("Okafor told …") is a name too, though its capital
    # alone cannot show it; a pronoun ("He said …") is not.
    named = any(n in who for n in names) or (speaker and speaker.start() == 0 and who not in _NOT_ENTITIES)
    if named and not quoted:
        return ClaimReason(NAME, f"reports what {who} said")
    if quoted:
        return ClaimReason(QUOTATION, "a quotation of someone's words, with no figure or date to check")
    words = {w.lower().strip("'’") for w in _WORD.findall(stripped)}
    if words & _OPINION_WORDS or _FIRST_PERSON.search(stripped):
        return ClaimReason(OPINION, "an opinion, a forecast or a view, with no figure or date to check")
    if names:
        return ClaimReason(NAME, f"names {names[0]}")
    events = sorted(words & _EVENT_VERBS)
    if events:
        return ClaimReason(EVENT, f"reports an event: {events[0]}")
    return ClaimReason(NO_FACT, "no figure, date, name or event to check")


def split_draft(text: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of the draft, in order: `text[start:end]` is the sentence.

    Paragraphs (blank-line separated) first, then the articles' sentence splitter inside
    each, keeping even the shortest fragments so that the draft comes back whole.
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        paragraph = text[begin:end]
        spans.extend((begin + s, begin + e) for s, e in split_sentences(paragraph, min_word_chars=1))
        if brk:
            begin = brk.end()
    return spans


# A transcript's turn: `speaker<TAB>what they said`, one line a turn (a debate, a speech, a
# town hall). The speaker is a name or a role, not a sentence: short, and no sentence's end in it.
_TURN = re.compile(r"^(?P<speaker>[^\t\n.?!]{1,80})\t(?P<said>[^\n]*)$", re.MULTILINE)


def split_transcript(text: str) -> list[tuple[int, int, str]] | None:
    """(start, end, speaker) of every sentence, when the draft is a transcript (every line that
    holds text is `speaker<TAB>text`); None when it is not, and it is split as prose."""
    lines = [line for line in text.splitlines() if line.strip()]
    turns = list(_TURN.finditer(text))
    if not lines or len(turns) != len(lines):
        return None
    spans = []
    for turn in turns:
        speaker, begin = " ".join(turn.group("speaker").split()), turn.start("said")
        spans.extend((begin + s, begin + e, speaker) for s, e in split_sentences(turn.group("said"), min_word_chars=1))
    return spans


@dataclass(frozen=True)
class DraftSentence:
    """One sentence of the draft: `draft[start:end] == text`; `verification` for claims only;
    `speaker` who said it, when the draft is a transcript."""

    start: int
    end: int
    text: str
    reason: ClaimReason
    verification: Verification | None = None
    speaker: str | None = None

    @property
    def is_claim(self) -> bool:
        return self.reason.is_claim


@dataclass(frozen=True)
class DraftCheck:
    sentences: list[DraftSentence]
    counts: dict[str, int]  # by verdict, and "not_a_claim"
    look_first: list[int]  # sentence indices: contradicted, mixed, not_found
    took_ms: float
    already_checked: list[int] = field(default_factory=list)  # sentence indices a review covers


NOT_A_CLAIM = "not_a_claim"


def summarise(sentences: Sequence[DraftSentence]) -> tuple[dict[str, int], list[int]]:
    """Counts by verdict (plus `not_a_claim`) and the sentences to look at first, worst first."""
    counts = Counter({v: 0 for v in (*VERDICTS, NOT_A_CLAIM)})
    for s in sentences:
        counts[s.verification.verdict if s.verification is not None else NOT_A_CLAIM] += 1
    order = {verdict: rank for rank, verdict in enumerate(LOOK_FIRST)}
    flagged = [i for i, s in enumerate(sentences) if s.verification is not None and s.verification.verdict in order]
    flagged.sort(key=lambda i: (order[sentences[i].verification.verdict], i))
    return dict(counts), flagged


def _with_speaker(verification: Verification, speaker: str | None) -> Verification:
    """A transcript sentence's matched reviews, with "the same speaker" among the reasons of those
    whose claimant said it."""
    if speaker is None:
        return verification
    reviews = []
    for match in verification.reviews:
        why = speaker_reason(speaker, match.review)
        reviews.append(dataclasses.replace(match, reasons=(*match.reasons, why)) if why else match)
    return dataclasses.replace(verification, reviews=reviews)


def check_draft(
    verifier: ClaimVerifier,
    text: str,
    top_k: int = 3,
    min_score: float | None = None,
    within: ArticleFilter | None = None,
) -> DraftCheck:
    """Split the draft (a transcript by its turns, prose by paragraphs), classify each sentence,
    and verify every claim in one batch."""
    started = time.perf_counter()
    turns = split_transcript(text)
    spans = [(s, e) for s, e, _ in turns] if turns is not None else split_draft(text)
    speakers = [who for _, _, who in turns] if turns is not None else [None] * len(spans)
    reasons = [classify_sentence(text[s:e]) for s, e in spans]
    claims = [i for i, r in enumerate(reasons) if r.is_claim]
    texts = [text[spans[i][0] : spans[i][1]] for i in claims]
    results = verifier.verify_claims(texts, top_k=top_k, min_score=min_score, within=within) if texts else []
    verified = {i: _with_speaker(result, speakers[i]) for i, result in zip(claims, results, strict=True)}
    sentences = [
        DraftSentence(start, end, text[start:end], reason, verified.get(i), speakers[i])
        for i, ((start, end), reason) in enumerate(zip(spans, reasons, strict=True))
    ]
    counts, look_first = summarise(sentences)
    checked = [i for i, s in enumerate(sentences) if s.verification is not None and s.verification.already_checked]
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return DraftCheck(sentences, counts, look_first, took_ms, already_checked=checked)
