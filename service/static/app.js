// Claim check page: plain DOM, no build step, no external assets.
"use strict";

const form = document.getElementById("claim-form");
const input = document.getElementById("claims");
const button = document.getElementById("submit");
const results = document.getElementById("results");
const errorBox = document.getElementById("error");
const statusBox = document.getElementById("status");

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

function renderResult(result) {
  const head = el("h2", {}, result.claim);
  const verdict = el("div", {},
    el("span", { class: `badge ${result.verdict}` }, VERDICTS[result.verdict] || result.verdict),
    el("span", { class: "confidence" }, `confidence ${Math.round(result.confidence * 100)}%`));
  const warnings = result.warnings.map((w) => el("p", { class: "hint" }, w));
  const evidence = el("ol", { class: "evidence" },
    ...result.evidence.map((item, i) => renderEvidence(item, i === result.decided_by)));
  return el("article", { class: "result" }, head, verdict, ...warnings, evidence);
}

async function submit() {
  const claims = input.value.split("\n").map((c) => c.trim()).filter(Boolean);
  if (!claims.length) return;
  show(errorBox, "");
  button.disabled = true;
  try {
    const single = claims.length === 1;
    const response = await fetch(single ? "/v1/verify" : "/v1/verify/batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(single ? { claim: claims[0] } : { claims }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const details = body.errors ? Object.values(body.errors).flat().join(" ") : "";
      show(errorBox, `${body.message || `The request failed (${response.status}).`} ${details}`.trim());
      if (response.status === 503) checkReady();
      return;
    }
    results.replaceChildren(...(single ? [body] : body.results).map(renderResult));
  } catch (err) {
    show(errorBox, "The service cannot be reached. Check your connection and try again.");
  } finally {
    button.disabled = false;
  }
}

form.addEventListener("submit", (event) => { event.preventDefault(); submit(); });
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); submit(); }
});
checkReady();
