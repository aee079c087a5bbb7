// Claim check page: plain DOM, no build step, no external assets.
"use strict";

const form = document.getElementById("claim-form");
const input = document.getElementById("claims");
const button = document.getElementById("submit");
const results = document.getElementById("results");
const errorBox = document.getElementById("error");
const statusBox = document.getElementById("status");
const draftForm = document.getElementById("draft-form");
const draftInput = document.getElementById("draft");
const draftButton = document.getElementById("draft-submit");
const modeButtons = { claims: document.getElementById("mode-claims"), draft: document.getElementById("mode-draft") };

const VERDICTS = { supported: "Supported", contradicted: "Contradicted", mixed: "Mixed evidence", not_found: "Not found" };
const STANCES = { supports: "supports", contradicts: "contradicts", related: "related" };
const REVIEW_VERDICTS = { supported: "Supported", contradicted: "Contradicted", mixed: "Mixed", unproven: "Unproven" };
// The review form's fields by the names the API gives them in its errors.
const REVIEW_FIELDS = { verdict: "Verdict", rating: "Rating in your words", note: "Note", evidence: "Evidence" };

// The editor's API key lives in this variable only: never in storage or a cookie, so it is
// gone when the tab reloads or closes, and nothing on a shared newsroom machine keeps it.
let editorKey = "";
let nextId = 0;
function uniqueId(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function show(box, message) {
  box.textContent = message;
  box.hidden = !message;
}

async function checkReady() {
  try {
    const response = await fetch("/readyz");
    const body = await response.json();
    show(statusBox, response.ok ? "" : `The service is not ready yet (${body.reason || "loading"}). Try again shortly.`);
  } catch (err) {
    show(statusBox, "The service cannot be reached.");
  }
}

function renderEvidence(item, decisive) {
  const sentenceId = uniqueId("sentence");
  const passage = el("p", { class: "passage" },
    item.context.before ? item.context.before + " " : "",
    el("mark", { id: sentenceId }, item.text),
    item.context.after ? " " + item.context.after : "");
  const percent = Math.max(0, Math.min(100, Math.round(item.score * 100)));
  const bar = el("span", { class: "bar", title: `similarity ${item.score.toFixed(2)}` }, el("span", { style: `width:${percent}%` }));
  const link = item.article.url
    ? el("a", { href: item.article.url, target: "_blank", rel: "noopener" }, item.article.title)
    : item.article.title;
  const source = el("span", { class: "source" }, link, item.article.published ? ` · ${item.article.published}` : "");
  const meta = el("div", { class: "meta" },
    el("span", { class: `stance ${item.stance}` }, STANCES[item.stance] || item.stance),
    el("span", {}, bar, ` ${item.score.toFixed(2)}`),
    source);
  const reasons = item.reasons;
  const list = reasons.length ? el("ul", { class: "reasons" }, ...reasons.map((r) => el("li", {}, r.message))) : null;
  const also = item.also_in && item.also_in.length
    ? el("p", { class: "hint" }, "Also in: " + item.also_in.map((a) => a.title).join("; "))
    : null;
  // Shown only while the editor records a review: ticks the sentences the review relies on.
  const cite = el("label", { class: "cite" },
    el("input", { type: "checkbox", value: String(item.sentence_id), "aria-describedby": sentenceId }),
    " Used in my review");
  return el("li", { class: decisive ? "decisive" : "" }, passage, meta, list, also, cite);
}

// The newsroom's own reviews: an "Already checked" panel first when one covers this claim,
// then the related ones; the model's verdict and evidence follow, never hidden.
function renderReview(review) {
  const rating = review.rating && review.rating.text && review.rating.text.toLowerCase() !== review.verdict
    ? ` ("${review.rating.text}")` : "";
  const who = `${review.reviewed_by}, ${String(review.reviewed_at).slice(0, 10)}`;
  const link = review.url ? el("a", { href: review.url, target: "_blank", rel: "noopener" }, "review") : null;
  // Why it was matched (same_claim.py's reasons): the same figure, the same speaker, a paraphrase.
  const why = review.reasons && review.reasons.length
    ? el("span", { class: "why" }, `Matched: ${review.reasons.join("; ")}`) : null;
  return el("li", { "data-review-id": review.id },
    el("strong", {}, review.verdict + rating), ` · ${who} · `, review.claim, link ? " · " : "", link,
    why ? el("br") : null, why);
}

function alreadyCheckedPanel(verdict, reviews, claim) {
  const status = el("p", { class: "hint", role: "status" });
  const panel = el("section", { class: "already-checked", role: "note" },
    el("h3", { tabindex: "-1" }, `Already checked: ${verdict}`),
    el("ul", {}, ...reviews.map((review) => withNotSameButton(renderReview(review), review.id, claim, status))),
    status);
  return panel;
}

// An editor's "not the same claim" (POST /v1/reviews/{id}/not-same-claim, under the write key
// entered in "Record a review"): the pairing is never shown again, and counts for the next fit.
function withNotSameButton(item, reviewId, claim, status) {
  const button = el("button", { type: "button", class: "not-same" }, "Not the same claim");
  button.addEventListener("click", async () => {
    if (!editorKey) {
      status.textContent = "Enter your editor's API key under \u201cRecord a review\u201d to mark a match.";
      return;
    }
    button.disabled = true;
    try {
      const response = await fetch(`/v1/reviews/${encodeURIComponent(reviewId)}/not-same-claim`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${editorKey}` },
        body: JSON.stringify({ claim }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        status.textContent = reviewFailure(response.status, body);
        return;
      }
      const panel = item.closest(".already-checked");
      item.remove();
      status.textContent = "Marked: this review will not be shown for this claim again.";
      if (!panel.querySelector("li")) panel.querySelector("h3").textContent = "Not checked before (a match was marked)";
    } catch (err) {
      status.textContent = "The service cannot be reached. Check your connection and try again.";
    } finally {
      button.disabled = false;
    }
  });
  item.append(" ", button);
  return item;
}

function renderReviews(result) {
  const reviews = result.reviews || [];
  const same = reviews.filter((r) => r.same_claim);
  const related = reviews.filter((r) => !r.same_claim && r.score >= 0.5);
  const parts = [];
  if (same.length) parts.push(alreadyCheckedPanel(result.review_verdict, same, result.claim));
  if (related.length) {
    parts.push(el("details", { class: "related-reviews" },
      el("summary", {}, `Reviews of similar claims (${related.length})`),
      el("ul", {}, ...related.map(renderReview))));
  }
  return parts;
}

function renderResult(result) {
  const head = el("h2", {}, result.claim);
  const verdict = el("div", {},
    el("span", { class: `badge ${result.verdict}` }, VERDICTS[result.verdict] || result.verdict),
    el("span", { class: "confidence" }, `confidence ${Math.round(result.confidence * 100)}%`));
  const warnings = result.warnings.map((w) => el("p", { class: "hint" }, w));
  const evidence = el("ol", { class: "evidence" },
    ...result.evidence.map((item, i) => renderEvidence(item, i === result.decided_by)));
  const card = el("article", { class: "result" }, head, ...renderReviews(result), verdict, ...warnings, evidence);
  card.append(renderReviewForm(result.claim, card));
  return card;
}

// The review just recorded goes first in the "Already checked" panel (made if the claim had
// none), as the next check of this claim will list it; an older copy of it leaves its place.
function showRecordedReview(card, review) {
  for (const old of card.querySelectorAll(`[data-review-id="${CSS.escape(review.id)}"]`)) old.remove();
  const related = card.querySelector(".related-reviews");
  if (related) {
    const left = related.querySelectorAll("li").length;
    if (left) related.querySelector("summary").textContent = `Reviews of similar claims (${left})`;
    else related.remove();
  }
  let panel = card.querySelector(".already-checked");
  if (!panel) {
    panel = alreadyCheckedPanel(review.verdict, [], card.querySelector("h2").textContent);
    card.querySelector("h2").after(panel);
  }
  panel.querySelector("h3").textContent = `Already checked: ${review.verdict}`;
  panel.querySelector("ul").prepend(renderReview(review));
  return panel;
}

const SAVED = {
  created: "Saved.",
  updated: "Saved: it replaces the earlier review of this claim under this key.",
  unchanged: "Already saved as it is: nothing changed.",
};

// The editor's loop: after checking a claim, record the newsroom's verdict on it with the
// evidence sentences relied on (ticked in the list above), under the editor's write key.
function renderReviewForm(claim, card) {
  const ids = Object.fromEntries(["verdict", "rating", "note", "key", "key-hint"].map((name) => [name, uniqueId(name)]));
  const verdict = el("select", { id: ids.verdict, name: "verdict" },
    el("option", { value: "" }, "Choose…"),
    ...Object.entries(REVIEW_VERDICTS).map(([value, label]) => el("option", { value }, label)));
  const rating = el("input", { id: ids.rating, name: "rating", type: "text", maxlength: "200", placeholder: "e.g. Pants on Fire" });
  const note = el("textarea", { id: ids.note, name: "note", rows: "3", maxlength: "5000" });
  const key = el("input", {
    id: ids.key, name: "key", type: "password", autocomplete: "off", spellcheck: "false", "aria-describedby": ids["key-hint"],
  });
  key.value = editorKey;
  key.addEventListener("input", () => { editorKey = key.value.trim(); });
  const ticked = el("p", { class: "hint", "aria-live": "polite" });
  const countTicked = () => {
    const n = card.querySelectorAll(".cite input:checked").length;
    ticked.textContent = `Evidence: tick the sentences you relied on in the list above (${n} ticked).`;
  };
  card.addEventListener("change", (event) => { if (event.target.closest(".cite")) countTicked(); });
  countTicked();
  const problem = el("div", { class: "error", role: "alert", hidden: "" });
  const saved = el("p", { class: "saved", role: "status" });
  const save = el("button", { type: "submit" }, "Save review");
  const form = el("form", { class: "review-form", novalidate: "" },
    el("label", { for: ids.verdict }, "Verdict"), verdict,
    el("label", { for: ids.rating }, REVIEW_FIELDS.rating, el("span", { class: "optional" }, " (optional)")), rating,
    el("label", { for: ids.note }, "Note", el("span", { class: "optional" }, " (optional)")), note,
    ticked,
    el("label", { for: ids.key }, "Editor's API key"), key,
    el("p", { class: "hint", id: ids["key-hint"] }, "Kept in this page's memory only: never saved, forgotten on reload."),
    problem,
    el("div", { class: "actions" }, save),
    saved);
  const fail = (message, field) => {
    show(problem, message);
    for (const input of [verdict, key]) input.removeAttribute("aria-invalid");
    if (field) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    show(problem, "");
    saved.textContent = "";
    if (!verdict.value) return fail("Choose a verdict for the review.", verdict);
    if (!key.value.trim()) return fail("Enter your editor's API key to save a review.", key);
    const payload = {
      claim,
      verdict: verdict.value,
      rating: rating.value.trim() || null,
      note: note.value.trim() || null,
      evidence: [...card.querySelectorAll(".cite input:checked")].map((box) => Number(box.value)),
    };
    save.disabled = true;
    try {
      const response = await fetch("/v1/reviews", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${key.value.trim()}` },
        body: JSON.stringify(payload),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const keyRefused = response.status === 401 || response.status === 403;
        fail(reviewFailure(response.status, body), keyRefused ? key : null);
        if (response.status === 503) checkReady();
        return;
      }
      for (const input of [verdict, key]) input.removeAttribute("aria-invalid");
      saved.textContent = `${SAVED[body.status] || "Saved."} It heads "Already checked" above, reviewed by ${body.review.reviewed_by}.`;
      const panel = showRecordedReview(card, body.review);
      panel.querySelector("h3").focus();
    } catch (err) {
      fail("The service cannot be reached. Check your connection and try again.");
    } finally {
      save.disabled = false;
    }
  });
  const details = el("details", { class: "record-review" }, el("summary", {}, "Record a review"), form);
  details.addEventListener("toggle", () => card.classList.toggle("reviewing", details.open));
  return details;
}

// The API's error for a review, in the editor's words where the API's are a developer's.
function reviewFailure(status, body) {
  const message = body.message || `The request failed (${status}).`;
  const details = Object.entries(body.errors || {})
    .map(([field, messages]) => `${REVIEW_FIELDS[field] || field}: ${[messages].flat().join(" ")}`)
    .join(" ");
  const hints = {
    403: "Ask for a key with the write role.",
    409: "An article it cites has changed since this check: check the claim again and tick the evidence anew.",
  };
  const lead = status === 401 ? "The review was not saved: the key was not accepted." : "The review was not saved.";
  return [lead, message, details, hints[status] || ""].filter(Boolean).join(" ");
}

// Sends a JSON body; the parsed answer, or null after showing the error.
async function post(path, payload) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const details = body.errors ? Object.values(body.errors).flat().join(" ") : "";
    show(errorBox, `${body.message || `The request failed (${response.status}).`} ${details}`.trim());
    if (response.status === 503) checkReady();
    return null;
  }
  return body;
}

async function submit() {
  const claims = input.value.split("\n").map((c) => c.trim()).filter(Boolean);
  if (!claims.length) return;
  show(errorBox, "");
  button.disabled = true;
  try {
    const single = claims.length === 1;
    const body = await post(single ? "/v1/verify" : "/v1/verify/batch", single ? { claim: claims[0] } : { claims });
    if (body) results.replaceChildren(...(single ? [body] : body.results).map(renderResult));
  } catch (err) {
    show(errorBox, "The service cannot be reached. Check your connection and try again.");
  } finally {
    button.disabled = false;
  }
}

// The draft as written, each claim underlined in its verdict's colour; a claim opens its evidence.
function renderDraft(text, body) {
  const detail = el("div", { id: "draft-detail" });
  const open = (index) => {
    const sentence = body.sentences[index];
    for (const node of prose.querySelectorAll(".claim[aria-expanded=true]")) node.setAttribute("aria-expanded", "false");
    prose.querySelector(`[data-index="${index}"]`).setAttribute("aria-expanded", "true");
    detail.replaceChildren(renderResult(sentence.verification));
    detail.scrollIntoView({ block: "nearest" });
  };
  const prose = el("div", { class: "draft-text" });
  let at = 0;
  body.sentences.forEach((sentence, index) => {
    prose.append(text.slice(at, sentence.start));
    at = sentence.end;
    if (!sentence.is_claim) {
      prose.append(el("span", { class: "not-claim", title: `Not a claim: ${sentence.reason.message}` }, sentence.text));
      return;
    }
    const verdict = sentence.verification.verdict;
    const claim = el("span", {
      class: `claim ${verdict}`, role: "button", tabindex: "0", "aria-expanded": "false", "data-index": String(index),
      title: `${VERDICTS[verdict] || verdict}: ${sentence.reason.message}`,
    }, sentence.text);
    claim.addEventListener("click", () => open(index));
    claim.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(index); }
    });
    prose.append(claim);
  });
  prose.append(text.slice(at));
  const counts = body.summary.counts;
  const summary = el("p", { class: "draft-summary" },
    ...Object.keys(VERDICTS).filter((v) => counts[v]).map((v) => el("span", { class: `badge ${v}` }, `${counts[v]} ${VERDICTS[v]}`)),
    counts.not_a_claim ? el("span", { class: "hint" }, `${counts.not_a_claim} not claims`) : null);
  const first = body.summary.look_first.length
    ? el("div", { class: "look-first" }, el("h2", {}, "Look at these first"),
      el("ol", {}, ...body.summary.look_first.map((index) => {
        const item = el("li", {}, el("span", { class: `badge ${body.sentences[index].verification.verdict}` },
          VERDICTS[body.sentences[index].verification.verdict]), " ", body.sentences[index].text);
        item.addEventListener("click", () => open(index));
        return item;
      })))
    : null;
  return [el("article", { class: "result draft" }, summary, first, prose), detail];
}

async function submitDraft() {
  const text = draftInput.value;
  if (!text.trim()) return;
  show(errorBox, "");
  draftButton.disabled = true;
  try {
    const body = await post("/v1/drafts/check", { text });
    if (body) results.replaceChildren(...renderDraft(text, body));
  } catch (err) {
    show(errorBox, "The service cannot be reached. Check your connection and try again.");
  } finally {
    draftButton.disabled = false;
  }
}

function setMode(mode) {
  for (const [name, node] of Object.entries(modeButtons)) node.setAttribute("aria-pressed", String(name === mode));
  form.hidden = mode !== "claims";
  draftForm.hidden = mode !== "draft";
  results.replaceChildren();
  show(errorBox, "");
  (mode === "draft" ? draftInput : input).focus();
}

modeButtons.claims.addEventListener("click", () => setMode("claims"));
modeButtons.draft.addEventListener("click", () => setMode("draft"));
draftForm.addEventListener("submit", (event) => { event.preventDefault(); submitDraft(); });
form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
});
checkReady();
