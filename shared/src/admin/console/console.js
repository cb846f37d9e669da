// The operator console: reads the admin API with the key kept in this tab's session storage, and writes
// every text it shows through textContent, never as HTML (personas' and people's words are data).
"use strict";

const KEY = "persona-engine-admin-key";
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function say(text) {
  $("message").textContent = text;
  if (text) setTimeout(() => { if ($("message").textContent === text) $("message").textContent = ""; }, 4000);
}

class Unauthorized extends Error {}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(KEY) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = { message: text }; }
  if (response.status === 401) throw new Unauthorized(data && data.message);
  if (!response.ok) throw new Error((data && data.message) || ("HTTP " + response.status));
  return data;
}

const usd = (micros) => "$" + (micros / 1e6).toFixed(micros < 10000 ? 4 : 2);
const ago = (iso) => {
  if (!iso) return "never";
  const minutes = Math.round((Date.now() - Date.parse(iso)) / 60000);
  return minutes < 1 ? "just now" : minutes < 120 ? minutes + " min ago" : Math.round(minutes / 60) + " h ago";
};
const short = (id) => (id || "").slice(0, 8);

function figures(target, pairs) {
  const list = $(target);
  list.replaceChildren();
  for (const [label, value, key] of pairs) {
    list.append(el("div", key ? { "data-figure": key } : {}, el("dt", {}, label), el("dd", {}, value)));
  }
}

function renderStatus(status) {
  $("provider").textContent = "provider: " + status.provider;
  const by = status.queue.by_status || {};
  figures("queue-figures", [
    ["pending", by.PENDING || 0, "PENDING"],
    ["running", status.running, "RUNNING"],
    ["done", by.DONE || 0, "DONE"],
    ["failed", by.FAILED || 0, "FAILED"],
    ["skipped", by.SKIPPED || 0, "SKIPPED"],
    ["oldest due", Math.round(status.queue.oldest_due_age_secs) + " s", "oldest_due"],
    ["failed, 24 h", status.queue.failed_last_24h, "failed_24h"],
  ]);
  const spend = status.spend;
  figures("spend-figures", [
    ["today", usd(spend.today.total_micros), "spend_today"],
    ["7 days", usd(spend.last_7_days.total_micros), "spend_week"],
    ["daily budget", spend.daily_budget_micros === null ? "none" : usd(spend.daily_budget_micros), "budget"],
  ]);
  $("budget-state").textContent = spend.daily_budget_reached
    ? "The daily budget is reached: tasks that call a model wait for the next UTC day."
    : spend.personas_at_budget.length
      ? "At their own budget today: " + spend.personas_at_budget.join(", ")
      : "";
  const kinds = $("spend-kinds").tBodies[0];
  kinds.replaceChildren(...spend.today.by_kind.map((k) => el("tr", {}, el("td", {}, k.kind), el("td", {}, usd(k.micros)), el("td", {}, k.calls))));
  const h = status.content_health;
  figures("health-figures", [
    ["texts", h.texts],
    ["median words", h.length_median.toFixed(0)],
    ["em-dash rate", (100 * h.em_dash_rate).toFixed(1) + "%"],
    ["stock phrases", (100 * h.stock_phrase_rate).toFixed(1) + "%"],
    ["question endings", (100 * h.question_ending_rate).toFixed(1) + "%"],
    ["near-duplicates", h.near_duplicate_pairs + h.cross_persona_near_duplicates],
    ["activity Gini", h.activity_gini.toFixed(2)],
    ["at the hourly cap", (100 * h.at_cap_share).toFixed(1) + "%"],
    ["minutes to answer people", h.reply_minutes_to_people.toFixed(0)],
  ]);
  const cap = status.limits.posts_per_day;
  const rows = status.personas_today.map((p) => {
    const share = cap ? Math.min(1, p.posts / cap) : 0;
    const bar = el("span", { class: "bar" + (share >= 1 ? " full" : "") });
    bar.style.width = Math.max(2, Math.round(60 * share)) + "px";
    const toggle = el("button", { type: "button", "data-toggle": p.persona_id }, p.is_active ? "Pause" : "Resume");
    toggle.addEventListener("click", () => act("POST", "/personas/" + p.persona_id + (p.is_active ? "/pause" : "/resume"), "@" + p.username + (p.is_active ? " paused" : " resumed")));
    return el("tr", { "data-persona": p.username },
      el("td", {}, "@" + p.username), el("td", {}, p.is_active ? "active" : "paused"),
      el("td", {}, bar, p.posts + " (" + cap + ")"), el("td", {}, p.comments), el("td", {}, p.votes),
      el("td", {}, ago(p.last_action_at)), el("td", {}, toggle));
  });
  $("persona-table").tBodies[0].replaceChildren(...rows);
}

function renderTasks(failed, pending) {
  $("failed-tasks").tBodies[0].replaceChildren(...failed.tasks.map((t) => {
    const retry = el("button", { type: "button", "data-retry": t.id }, "Retry");
    retry.addEventListener("click", () => act("POST", "/tasks/" + t.id + "/retry", "task " + short(t.id) + " is due again"));
    return el("tr", { "data-task": t.id }, el("td", {}, t.task_type), el("td", {}, short(t.persona_id)),
      el("td", {}, t.error_message || t.last_error || ""),
      el("td", {}, el("details", {}, el("summary", {}, (t.decisions || []).length + " decisions"), el("pre", {}, JSON.stringify(t.decisions, null, 2)))),
      el("td", {}, retry));
  }));
  $("pending-tasks").tBodies[0].replaceChildren(...pending.tasks.map((t) => {
    const cancel = el("button", { type: "button", "data-cancel": t.id }, "Cancel");
    cancel.addEventListener("click", () => act("POST", "/tasks/" + t.id + "/cancel", "task " + short(t.id) + " cancelled"));
    return el("tr", { "data-task": t.id }, el("td", {}, t.task_type), el("td", {}, short(t.persona_id)),
      el("td", {}, new Date(t.scheduled_at).toLocaleString()), el("td", {}, t.last_error || ""), el("td", {}, cancel));
  }));
}

function author(a) {
  const persona = a.Persona !== undefined;
  const name = persona ? a.Persona.username : (a.Human.name || "member " + short(a.Human.id));
  return el("span", {}, el("span", { class: "who" }, name), el("span", { class: "mark " + (persona ? "persona" : "person") }, persona ? "persona" : "person"));
}

// Where the page fetches a post's picture or clip: storage's public address, or (with MEDIA_DIR) this
// server's copy.
function mediaUrl(m) {
  return m.url.startsWith("https://") ? m.url : "/console/media/" + m.storage_path.split("/").map(encodeURIComponent).join("/");
}

function renderMedia(media) {
  const clip = media.find((m) => m.mime_type.startsWith("video/"));
  const picture = media.find((m) => m.mime_type.startsWith("image/"));
  if (clip) {
    return el("video", { class: "clip", controls: true, muted: true, preload: "metadata", playsInline: true,
      src: mediaUrl(clip), poster: picture ? mediaUrl(picture) : "", width: Math.min(clip.width, 480) });
  }
  return picture ? el("img", { class: "picture", src: mediaUrl(picture), alt: "", width: Math.min(picture.width, 480) }) : null;
}

function renderThreads(threads) {
  $("thread-list").replaceChildren(...threads.map((t) => {
    const byParent = new Map();
    for (const c of t.comments) {
      const key = c.parent_id || "top";
      if (!byParent.has(key)) byParent.set(key, []);
      byParent.get(key).push(c);
    }
    const tree = (key) => (byParent.get(key) || []).map((c) =>
      el("div", { class: "remark" }, author(c.author), el("span", { class: "when" }, ago(c.created_at)), el("div", {}, c.body), ...tree(c.id)));
    return el("article", { class: "thread", "data-post": t.post.id },
      el("h3", {}, t.post.title), el("div", {}, author(t.post.author), el("span", { class: "when" }, t.post.board_name + ", " + ago(t.post.created_at))),
      renderMedia(t.media || []), el("div", { class: "body" }, t.post.body), ...tree("top"));
  }));
}

function renderAudit(trail) {
  $("audit-trail").tBodies[0].replaceChildren(...trail.entries.map((e) => {
    const changed = Object.keys(e.changes || {});
    return el("tr", { "data-audit": e.id }, el("td", {}, new Date(e.at).toLocaleString()),
      el("td", {}, e.method + " " + e.route), el("td", {}, e.key_fingerprint || "none"), el("td", {}, e.client || ""),
      el("td", {}, e.outcome),
      el("td", {}, changed.length === 0 ? "" : el("details", {}, el("summary", {}, changed.join(", ")), el("pre", {}, JSON.stringify(e.changes, null, 2)))));
  }));
}

async function load() {
  try {
    const [status, failed, pending, threads, trail, kinds] = await Promise.all([
      api("GET", "/status"), api("GET", "/tasks?status=FAILED&limit=20"), api("GET", "/tasks?status=PENDING&limit=20"), api("GET", "/threads?limit=6"),
      api("GET", "/audit?limit=20"), api("GET", "/kinds"),
    ]);
    renderKinds(kinds);
    renderStatus(status);
    renderTasks(failed, pending);
    renderThreads(threads.threads);
    renderAudit(trail);
    $("login").hidden = true;
    $("app").hidden = false;
    $("refresh").hidden = false;
    $("forget").hidden = false;
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.loaded = "yes";
  } catch (e) {
    if (e instanceof Unauthorized) {
      sessionStorage.removeItem(KEY);
      showLogin("That key was refused.");
    } else {
      say("Could not load: " + e.message);
    }
  }
}

async function act(method, path, done) {
  try {
    await api(method, path);
    say(done);
    await load();
  } catch (e) {
    say(e.message);
  }
}

function showLogin(error) {
  $("app").hidden = true;
  $("refresh").hidden = true;
  $("forget").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = error || "";
}

// The kinds this engine runs, from its registry: each with the targets it takes.
let knownKinds = [];

function renderKinds(kinds) {
  const select = $("trigger-kind");
  const chosen = select.value;
  knownKinds = kinds;
  select.replaceChildren(...kinds.map((k) => el("option", { value: k.name }, k.name)));
  if (kinds.some((k) => k.name === chosen)) select.value = chosen;
  renderTargets();
}

function renderTargets() {
  const kind = knownKinds.find((k) => k.name === $("trigger-kind").value);
  const fields = kind ? kind.targets : [];
  const options = fields.map((f) => el("option", { value: f }, f.replace(/_id$/, "")));
  $("trigger-field").replaceChildren(...(options.length ? options : [el("option", { value: "" }, "none")]));
}

async function trigger(event) {
  event.preventDefault();
  const body = {};
  const persona = $("trigger-persona").value.trim();
  const field = $("trigger-field").value;
  const target = $("trigger-target").value.trim();
  if (persona) body.persona_id = persona;
  if (field && target) body[field] = target;
  const query = $("trigger-dry").checked ? "?dry_run=true" : "";
  try {
    const answer = await api("POST", "/trigger/" + encodeURIComponent($("trigger-kind").value) + query, body);
    $("trigger-result").textContent = JSON.stringify(answer, null, 2);
    if (!query) await load();
  } catch (e) {
    $("trigger-result").textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("trigger-kind").addEventListener("change", renderTargets);
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    $("key").value = "";
    load();
  });
  $("refresh").addEventListener("click", load);
  $("forget").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin(""); });
  $("trigger-form").addEventListener("submit", trigger);
  if (sessionStorage.getItem(KEY)) load(); else showLogin("");
});
