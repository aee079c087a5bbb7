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
  const passage = el("p", { class: "passage" },
    item.context.before ? item.context.before + " " : "",
    el("mark", {}, item.text),
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
  return el("li", { class: decisive ? "decisive" : "" }, passage, meta, list, also);
}

// The newsroom's own reviews: an "Already checked" panel first when one covers this claim,
// then the related ones; the model's verdict and evidence follow, never hidden.
function renderReview(review) {
  const rating = review.rating && review.rating.text && review.rating.text.toLowerCase() !== review.verdict
    ? ` ("${review.rating.text}")` : "";
  const who = `${review.reviewed_by}, ${String(review.reviewed_at).slice(0, 10)}`;
  const link = review.url ? el("a", { href: review.url, target: "_blank", rel: "noopener" }, "review") : null;
  return el("li", {}, el("strong", {}, review.verdict + rating), ` · ${who} · `, review.claim, link ? " · " : "", link);
}

function renderReviews(result) {
  const reviews = result.reviews || [];
  const same = reviews.filter((r) => r.same_claim);
  const related = reviews.filter((r) => !r.same_claim && r.score >= 0.5);
  const parts = [];
  if (same.length) {
    parts.push(el("section", { class: "already-checked", role: "note" },
      el("h3", {}, `Already checked: ${result.review_verdict}`),
      el("ul", {}, ...same.map(renderReview))));
  }
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
  return el("article", { class: "result" }, head, ...renderReviews(result), verdict, ...warnings, evidence);
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
