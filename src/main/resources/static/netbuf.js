// The admin page: reads open, mutations need the admin session (form login) and the CSRF token.
"use strict";

const $ = (sel) => document.querySelector(sel);
let selectedBuffer = null;
let admin = false;
let xen = false;

function csrfToken() {
  const m = document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}

async function call(method, url, body, form) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") headers["X-XSRF-TOKEN"] = csrfToken();
  let payload;
  if (form) {
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    payload = new URLSearchParams(body).toString();
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  if (!res.ok) {
    let text = res.status + " " + res.statusText;
    try {
      const problem = await res.json();
      text = (problem.title || text) + (problem.detail ? ": " + problem.detail : "");
    } catch (ignored) { /* not a problem document */ }
    throw new Error(text);
  }
  return res.status === 204 ? null : res.json().catch(() => null);
}

function showError(e) {
  const el = $("#error");
  if (e) { el.textContent = e.message || String(e); el.hidden = false; } else { el.hidden = true; }
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

async function refreshBuffers() {
  // a FREE buffer is one that was torn down (its domain stopped): kept in the database with its journal, not shown
  const all = await call("GET", "/api/netbuf/buffers");
  const buffers = all.filter((b) => b.state !== "FREE");
  const body = $("#buffers tbody");
  body.replaceChildren(...buffers.map((b) => {
    const tr = document.createElement("tr");
    tr.dataset.id = b.id;
    tr.dataset.state = b.state;
    if (b.id === selectedBuffer) tr.classList.add("selected");
    tr.append(cell(b.id), cell(b.domain, "domain"), cell(b.vif, "vif"), cell(b.ifb, "ifb"),
      cell(b.state, "state " + b.state), cell(b.epoch, "num epoch"),
      cell(b.backlogBytes === null || b.backlogBytes === undefined ? "–"
        : bytes(b.backlogBytes) + " / " + b.backlogPackets + " pkts", "num backlog"),
      cell(b.drops, "num drops"), cell(bytes(b.limitBytes), "num"), cell(b.lastError, "last-error"));
    tr.addEventListener("click", () => showJournal(b.id));
    return tr;
  }));
  $("#no-buffers").hidden = buffers.length > 0;
  $("#free-buffers").textContent = all.length > buffers.length
    ? (all.length - buffers.length) + " torn-down (FREE) buffers not shown" : "";
  $("#refreshed").textContent = "refreshed " + new Date().toLocaleTimeString();
}

async function showJournal(id) {
  selectedBuffer = id;
  const entries = await call("GET", "/api/netbuf/buffers/" + id + "/journal");
  $("#journal-id").textContent = id;
  $("#journal tbody").replaceChildren(...entries.map((e) => {
    const tr = document.createElement("tr");
    tr.append(cell(new Date(e.at).toLocaleTimeString()), cell(e.step, "step"), cell(e.outcome, "outcome"),
      cell(e.fromState), cell(e.toState), cell(e.detail), cell(e.error));
    return tr;
  }));
  $("#journal-section").hidden = false;
}

async function refreshDomains() {
  if (xen) return refreshXenDomains();
  const domains = await call("GET", "/api/domains");
  $("#domains tbody").replaceChildren(...domains.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.name = d.name;
    const actions = document.createElement("td");
    actions.className = "admin-only";
    for (const [label, path, cls] of [["Start", "start", "start"], ["Stop", "stop", "stop"]]) {
      const button = document.createElement("button");
      button.textContent = label;
      button.className = cls;
      button.disabled = (cls === "start") === (d.state === "RUNNING");
      button.addEventListener("click", () => act("POST", "/api/domains/" + encodeURIComponent(d.name) + "/" + path));
      actions.append(button);
    }
    tr.append(cell(d.name, "name"), cell(d.remus ? "yes" : "no"), cell(d.checkpoint ? "yes" : "no"),
      cell((d.hostVifs || []).join(" ") || d.vifs, "vifs"), cell(d.state, "domain-state"), actions);
    return tr;
  }));
}

// netbuf-server.hypervisor=xen: Xen's domains as xenstore shows them, each with its Remus mark
async function refreshXenDomains() {
  const domains = await call("GET", "/api/domains");
  $("#xen-domains tbody").replaceChildren(...domains.map((d) => {
    const tr = document.createElement("tr");
    tr.dataset.name = d.name;
    const actions = document.createElement("td");
    actions.className = "admin-only";
    const button = document.createElement("button");
    button.textContent = d.remus ? "Unmark" : "Mark for Remus";
    button.className = d.remus ? "unmark" : "mark";
    button.addEventListener("click", () =>
      act(d.remus ? "DELETE" : "PUT", "/api/domains/" + encodeURIComponent(d.name) + "/remus"));
    actions.append(button);
    tr.append(cell(d.name, "name"), cell(d.domid, "num domid"), cell(d.state, "domain-state " + d.state),
      cell(d.vifs.map((v) => v.name + " (" + (v.hotplugStatus || "no hotplug status") + ")").join(", "), "vifs"),
      cell(d.remus ? "yes" : "no", "remus"), cell(d.buffered ? "yes" : "no", "buffered"),
      cell(xlRemus(d.xlRemus), "xl-remus"), cell(d.error, "last-error"), actions);
    return tr;
  }));
  $("#no-xen-domains").hidden = domains.length > 0;
}

// what the follower has seen of xl remus's checkpoints of a buffered domain
function xlRemus(f) {
  if (!f) return "";
  if (f.requests === 0) return "waiting for xl remus";
  let text = "followed: " + f.checkpoints + (f.checkpoints === 1 ? " checkpoint" : " checkpoints");
  if (f.lateCloses) text += ", " + f.lateCloses + " late (held over)";
  if (f.missed) text += ", " + f.missed + " missed";
  if (f.lastError) text += "; " + f.lastError;
  return text;
}

function millis(ms) {
  if (ms === null || ms === undefined) return "";
  return ms < 1000 ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
}

async function refreshProtection() {
  const domains = await call("GET", "/api/netbuf/domains");
  $("#protection tbody").replaceChildren(...domains.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.domain = p.domain;
    tr.dataset.state = p.state;
    const actions = document.createElement("td");
    actions.className = "admin-only";
    const url = "/api/netbuf/domains/" + encodeURIComponent(p.domain);
    const resume = document.createElement("button");
    resume.textContent = "Resume";
    resume.className = "resume";
    resume.disabled = p.state !== "UNPROTECTED";
    resume.addEventListener("click", () => act("POST", url + "/resume"));
    const deadline = document.createElement("button");
    deadline.textContent = "Deadline…";
    deadline.className = "deadline";
    deadline.addEventListener("click", () => {
      const answer = prompt("ack deadline of " + p.domain + " in ms (empty: the configured default)",
        p.ownAckTimeout ? String(p.ackTimeoutMillis) : "");
      if (answer !== null) act("PUT", url + "/ack-timeout", { ackTimeoutMillis: answer.trim() === "" ? null : Number(answer) });
    });
    actions.append(resume, deadline);
    tr.append(cell(p.domain, "domain"), cell(p.driver, "driver"), cell(p.state, "protection " + p.state),
      cell(millis(p.ackTimeoutMillis) + (p.ownAckTimeout ? "" : " (default)"), "num deadline"),
      cell(millis(p.heldForMillis), "num held"), cell(p.openEpoch, "num epoch"),
      cell(p.lastCheckpoint ? new Date(p.lastCheckpoint).toLocaleTimeString() : "", "last-checkpoint"),
      cell(p.checkpointsPerSecond ? p.checkpointsPerSecond + "/s" : "", "num rate"),
      cell(p.failovers, "num failovers"), cell(p.failoverReason, "failover-reason"),
      cell(p.lastFailure, "last-error"), actions);
    return tr;
  }));
  $("#no-protection").hidden = domains.length > 0;
}

async function act(method, url, body) {
  try {
    showError(null);
    await call(method, url, body);
  } catch (e) {
    showError(e);
  }
  await refresh();
}

async function refreshSession() {
  const s = await call("GET", "/api/session");
  admin = !!s.authenticated;
  document.body.classList.toggle("admin", admin);
  $("#who").textContent = admin ? "admin: " + s.user : "reading as guest";
  $("#login-form").hidden = admin;
  $("#logout").hidden = !admin;
}

async function refresh() {
  try {
    await Promise.all([refreshBuffers(), refreshDomains(), refreshProtection()]);
    if (selectedBuffer !== null) await showJournal(selectedBuffer);
  } catch (e) {
    showError(e);
  }
}

$("#login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    showError(null);
    await call("POST", "/login", { username: $("#login-user").value, password: $("#login-password").value }, true);
    $("#login-password").value = "";
    await refreshSession();
  } catch (e) {
    showError(new Error("login failed: " + e.message));
  }
});

$("#logout").addEventListener("click", async () => {
  await call("POST", "/logout").catch(() => null);
  await refreshSession();
});

$("#create-domain").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act("POST", "/api/domains", {
    name: $("#domain-name").value,
    remus: $("#domain-remus").checked,
    checkpoint: $("#domain-checkpoint").checked,
    vifs: Number($("#domain-vifs").value),
  });
});

$("#mark-domain").addEventListener("submit", (ev) => {
  ev.preventDefault();
  act("PUT", "/api/domains/" + encodeURIComponent($("#mark-name").value) + "/remus");
});

async function start() {
  try {
    xen = (await call("GET", "/api/hypervisor")).hypervisor === "XEN";
    document.body.classList.toggle("xen", xen);
  } catch (e) {
    showError(e);
  }
  refreshSession().catch(showError);
  refresh();
  setInterval(refresh, 1000);
}

start();
