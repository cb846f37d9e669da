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

const usd = (micros) => (micros === 0 ? "$0" : "$" + (micros / 1e6).toFixed(micros < 10000 ? 4 : 2));
// Shown where there is nothing to measure yet.
const NONE = "\u2014";

// A length of time in words, in its largest whole unit: "33 days", "5 hours", "1 minute".
function duration(secs) {
  if (!(secs >= 1)) return NONE;
  for (const [size, unit] of [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]]) {
    if (secs >= size) {
      const n = Math.floor(secs / size);
      return n + " " + unit + (n === 1 ? "" : "s");
    }
  }
  return NONE;
}

// The server's clock (the engine's, which a simulation or test may set), so "ago" agrees with its data.
let serverNow = Date.now();
const ago = (iso) => {
  if (!iso) return NONE;
  const secs = (serverNow - Date.parse(iso)) / 1000;
  return secs < 60 ? "just now" : duration(secs) + " ago";
};
const short = (id) => (id || "").slice(0, 8);

// Persona ids to usernames, from the latest status.
let usernames = new Map();
const persona = (id) => (!id ? NONE : usernames.has(id) ? "@" + usernames.get(id) : short(id));

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Each chart's drawing area (in the SVG's own units; it scales to its box): wide for the hours, narrow
// for the days, so the labels read at the same size.
const HOURS = { width: 900, height: 200, left: 44, right: 12, top: 14, bottom: 24 };
const DAYS = { width: 380, height: 180, left: 52, right: 8, top: 16, bottom: 22 };

// The y position of `value` on a chart whose top is `most`.
const yOf = (box, value, most) => box.top + (box.height - box.top - box.bottom) * (1 - value / most);

function axes(box, most, label) {
  const bottom = box.height - box.bottom;
  return [
    svg("line", { class: "axis", x1: box.left, y1: bottom, x2: box.width - box.right, y2: bottom }),
    svg("line", { class: "axis", x1: box.left, y1: box.top, x2: box.width - box.right, y2: box.top }),
    svg("text", { class: "label", x: box.left - 6, y: box.top + 4, "text-anchor": "end" }, label(most)),
    svg("text", { class: "label", x: box.left - 6, y: bottom + 4, "text-anchor": "end" }, label(0)),
  ];
}

// Posts, comments and votes per hour: personas beside people, one line each.
function renderActivity(hours) {
  const chart = $("activity-chart");
  const total = (who) => hours.reduce((sum, h) => sum + h[who], 0);
  if (!hours.length || total("personas") + total("people") === 0) {
    chart.replaceChildren(el("p", { class: "muted", "data-empty": "activity" }, NONE + " no posts, comments or votes in these three days yet"));
    return;
  }
  const box = HOURS;
  const most = Math.max(1, ...hours.map((h) => Math.max(h.personas, h.people)));
  const step = (box.width - box.left - box.right) / Math.max(1, hours.length - 1);
  const xOf = (i) => box.left + i * step;
  const line = (who) => svg("polyline", { class: "line " + (who === "personas" ? "persona" : "person"), "data-series": who,
    points: hours.map((h, i) => xOf(i).toFixed(1) + "," + yOf(box, h[who], most).toFixed(1)).join(" ") });
  // A mark at each UTC midnight, labelled with the day.
  const days = hours.flatMap((h, i) => new Date(h.hour).getUTCHours() === 0 ? [svg("g", {},
    svg("line", { class: "axis", x1: xOf(i), y1: box.top, x2: xOf(i), y2: box.height - box.bottom }),
    svg("text", { class: "label", x: xOf(i) + 4, y: box.height - 8 },
      new Date(h.hour).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" })))] : []);
  chart.replaceChildren(
    svg("svg", { viewBox: "0 0 " + box.width + " " + box.height, role: "img", "data-hours": hours.length },
      ...axes(box, most, (v) => v + "/h"), ...days, line("people"), line("personas")),
    el("figcaption", { class: "legend" },
      el("span", { class: "persona" }, "personas: " + total("personas")), el("span", { class: "person" }, "people: " + total("people")),
      el("span", {}, "hours in UTC")));
}

// Spend per UTC day, a bar each, against the daily budget's line.
function renderSpendDays(days, budget) {
  const chart = $("spend-chart");
  if (!days.length || days.every((d) => d.micros === 0)) {
    chart.replaceChildren(el("p", { class: "muted", "data-empty": "spend" }, NONE + " nothing spent in these seven days yet"));
    return;
  }
  const box = DAYS;
  const most = Math.max(1, budget || 0, ...days.map((d) => d.micros));
  const slot = (box.width - box.left - box.right) / days.length;
  const bottom = box.height - box.bottom;
  const bars = days.map((d, i) => {
    const x = box.left + i * slot + slot * 0.2;
    const y = yOf(box, d.micros, most);
    const over = budget !== null && d.micros >= budget;
    return svg("g", { "data-day": d.day },
      svg("rect", { class: "day" + (over ? " over" : ""), x: x.toFixed(1), y: y.toFixed(1), width: (slot * 0.6).toFixed(1), height: (bottom - y).toFixed(1) }),
      svg("text", { class: "label", x: (x + slot * 0.3).toFixed(1), y: (y - 3).toFixed(1), "text-anchor": "middle" }, d.micros ? usd(d.micros) : ""),
      svg("text", { class: "label", x: (x + slot * 0.3).toFixed(1), y: box.height - 8, "text-anchor": "middle" },
        new Date(d.day + "T00:00:00Z").toLocaleDateString(undefined, { weekday: "short", day: "numeric", timeZone: "UTC" })));
  });
  const line = budget === null ? [] : [
    svg("line", { class: "budget", "data-budget": budget, x1: box.left, y1: yOf(box, budget, most), x2: box.width - box.right, y2: yOf(box, budget, most) }),
    svg("text", { class: "label", x: box.width - box.right, y: yOf(box, budget, most) - 4, "text-anchor": "end" }, "daily budget " + usd(budget)),
  ];
  chart.replaceChildren(svg("svg", { viewBox: "0 0 " + box.width + " " + box.height, role: "img" }, ...axes(box, most, usd), ...bars, ...line));
}

function figures(target, pairs) {
  const list = $(target);
  list.replaceChildren();
  for (const [label, value, key] of pairs) {
    list.append(el("div", key ? { "data-figure": key } : {}, el("dt", {}, label), el("dd", {}, value)));
  }
}

function renderStatus(status) {
  serverNow = Date.parse(status.queue.at);
  usernames = new Map(status.personas_today.map((p) => [p.persona_id, p.username]));
  renderPersonaChoice(status.personas_today);
  $("provider").textContent = "provider: " + status.provider;
  const by = status.queue.by_status || {};
  figures("queue-figures", [
    ["pending", by.PENDING || 0, "PENDING"],
    ["running", status.running, "RUNNING"],
    ["done", by.DONE || 0, "DONE"],
    ["failed", by.FAILED || 0, "FAILED"],
    ["skipped", by.SKIPPED || 0, "SKIPPED"],
    ["oldest due", duration(status.queue.oldest_due_age_secs), "oldest_due"],
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
      ? "At their own budget today: " + spend.personas_at_budget.map((name) => "@" + name).join(", ")
      : "";
  const kinds = $("spend-kinds").tBodies[0];
  kinds.replaceChildren(...spend.today.by_kind.map((k) => el("tr", {}, el("td", {}, k.kind), el("td", {}, usd(k.micros)), el("td", {}, k.calls))));
  renderSpendDays(spend.by_day, spend.daily_budget_micros);
  renderActivity(status.actions_per_hour);
  const h = status.content_health;
  // Nothing published in the last day: no figure means anything yet.
  const measured = (text) => (h.texts ? text : NONE);
  const percent = (share) => measured((100 * share).toFixed(1) + "%");
  figures("health-figures", [
    ["texts", h.texts, "texts"],
    ["median words", measured(h.length_median.toFixed(0)), "median_words"],
    ["em-dash rate", percent(h.em_dash_rate)],
    ["stock phrases", percent(h.stock_phrase_rate)],
    ["question endings", percent(h.question_ending_rate)],
    ["near-duplicates", measured(h.near_duplicate_pairs + h.cross_persona_near_duplicates)],
    ["activity Gini", measured(h.activity_gini.toFixed(2))],
    ["at the hourly cap", percent(h.at_cap_share)],
    ["time to answer people", duration(60 * h.reply_minutes_to_people), "answer_people"],
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
    return el("tr", { "data-task": t.id }, el("td", {}, t.task_type), el("td", { class: "persona" }, persona(t.persona_id)),
      el("td", {}, t.error_message || t.last_error || ""),
      el("td", {}, el("details", {}, el("summary", {}, (t.decisions || []).length + " decisions"), el("pre", {}, JSON.stringify(t.decisions, null, 2)))),
      el("td", {}, retry));
  }));
  $("pending-tasks").tBodies[0].replaceChildren(...pending.tasks.map((t) => {
    const cancel = el("button", { type: "button", "data-cancel": t.id }, "Cancel");
    cancel.addEventListener("click", () => act("POST", "/tasks/" + t.id + "/cancel", "task " + short(t.id) + " cancelled"));
    return el("tr", { "data-task": t.id }, el("td", {}, t.task_type), el("td", { class: "persona" }, persona(t.persona_id)),
      el("td", {}, new Date(t.scheduled_at).toLocaleString()), el("td", {}, t.last_error || NONE), el("td", {}, cancel));
  }));
}

function author(a) {
  const byPersona = a.Persona !== undefined;
  const name = byPersona ? a.Persona.username : (a.Human.name || "member " + short(a.Human.id));
  return el("span", {}, el("span", { class: "who" }, name), el("span", { class: "mark " + (byPersona ? "persona" : "person") }, byPersona ? "persona" : "person"));
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

// Who a trigger is for: a persona by name, or the selector's pick.
function renderPersonaChoice(personas) {
  const select = $("trigger-persona");
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, "the selector picks"),
    ...personas.map((p) => el("option", { value: p.persona_id }, "@" + p.username)));
  if (personas.some((p) => p.persona_id === chosen)) select.value = chosen;
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
  const chosen = $("trigger-persona").value;
  const field = $("trigger-field").value;
  const target = $("trigger-target").value.trim();
  if (chosen) body.persona_id = chosen;
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

// Anything the page's policy blocks (a picture from another origin, say) is counted and said, not lost.
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations = (window.cspViolations || 0) + 1;
  say("The page's security policy blocked " + (event.blockedURI || "an inline " + event.effectiveDirective));
});

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
