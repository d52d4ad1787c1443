// logscrub playground: the page's only script. No framework, no build step, nothing fetched
// from elsewhere. Values are put into the page with textContent only (never as HTML).
"use strict";

const token = new URLSearchParams(location.search).get("t") || "";
const $ = (id) => document.getElementById(id);
let lastRun = null; // the latest /api/run answer
let policyName = "policy";

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "X-Playground-Token": token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { data = null; }
  return { status: response.status, data, text };
}

function debounce(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

function lines() {
  return $("lines").value.split("\n").filter((l) => l.trim() !== "");
}

function setState(id, text, bad) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("bad", Boolean(bad));
}

function showIssues(issues) {
  const list = $("issues");
  list.replaceChildren();
  for (const issue of issues) {
    const li = document.createElement("li");
    const where = issue.line ? `line ${issue.line}` : "policy";
    li.textContent = `${where}: ${issue.path || "<root>"}: ${issue.message}`;
    list.append(li);
  }
  setState("policy-state", issues.length ? `${issues.length} error(s)` : "valid", issues.length > 0);
}

async function checkPolicy() {
  const answer = await api("/api/check", { policy: $("policy").value });
  if (answer.status !== 200 || !answer.data) {
    setState("policy-state", `check failed (${answer.status})`, true);
    return false;
  }
  showIssues(answer.data.issues);
  return answer.data.issues.length === 0;
}

function marked(text, marks, findings) {
  // A cell's content: the text with each finding's place wrapped in a <mark>.
  const frag = document.createDocumentFragment();
  let at = 0;
  for (const [start, end, index] of marks) {
    if (start < at) continue;
    frag.append(document.createTextNode(text.slice(at, start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);
    const f = findings[index];
    mark.title = `${f.entity} · ${f.detector} · score ${f.score} · ${f.path || "<line>"} · ${f.operator}`;
    mark.addEventListener("click", () => showDetail(f));
    frag.append(mark);
    at = end;
  }
  frag.append(document.createTextNode(text.slice(at)));
  return frag;
}

function showDetail(f) {
  const dl = $("detail-list");
  dl.replaceChildren();
  const rows = [
    ["entity", f.entity], ["detector", f.detector], ["score", String(f.score)],
    ["field path", f.path || "(the whole line)"], ["operator", f.operator],
    ["before", f.before], ["after", f.after === null ? "(dropped)" : f.after],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    dl.append(dt, dd);
  }
  $("detail").hidden = false;
}

function render(data) {
  lastRun = data;
  policyName = data.policy;
  const counts = $("counts");
  counts.replaceChildren();
  const parts = [];
  for (const [k, v] of Object.entries(data.entities)) parts.push(`${k} ${v}`);
  const ops = [];
  for (const [k, v] of Object.entries(data.operators)) ops.push(`${k} ${v}`);
  for (const text of [
    `${data.results.length} line(s), ${data.results.filter((r) => r.dropped).length} dropped`,
    `entities: ${parts.join(", ") || "none"}`,
    `operators: ${ops.join(", ") || "none"}`,
    `policy ${data.policy} (${data.digest})`,
  ]) {
    const span = document.createElement("span");
    span.textContent = text;
    counts.append(span);
  }
  const body = $("results").querySelector("tbody");
  body.replaceChildren();
  data.results.forEach((r, i) => {
    const tr = document.createElement("tr");
    tr.dataset.index = String(i);
    const pick = document.createElement("td");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "case";
    box.checked = true;
    box.title = "Include this line in the golden cases";
    pick.append(box);
    const before = document.createElement("td");
    before.className = "line before";
    before.append(marked(r.before, r.marks_before, r.findings));
    const after = document.createElement("td");
    after.className = "line after";
    if (r.dropped) {
      after.classList.add("dropped");
      after.textContent = "(dropped by the policy)";
    } else {
      after.append(marked(r.after, r.marks_after, r.findings));
    }
    if (r.issue) {
      const tag = document.createElement("span");
      tag.className = "issue-tag";
      tag.textContent = `[${r.issue}]`;
      after.append(tag);
    }
    if (r.findings.length) {
      const ul = document.createElement("ul");
      ul.className = "findings";
      for (const f of r.findings) {
        const li = document.createElement("li");
        li.textContent = `${f.path || "<line>"}: ${f.entity} by ${f.detector} (${f.score}) → ${f.operator}`;
        li.addEventListener("click", () => showDetail(f));
        ul.append(li);
      }
      after.append(ul);
    }
    tr.append(pick, before, after);
    body.append(tr);
  });
}

async function run() {
  const items = lines();
  if (!items.length) {
    setState("run-state", "paste log lines or open a file");
    return;
  }
  setState("run-state", "running…");
  const answer = await api("/api/run", { policy: $("policy").value, lines: items });
  if (answer.status === 422 && answer.data) {
    showIssues(answer.data.issues);
    setState("run-state", "fix the policy first", true);
    return;
  }
  if (answer.status !== 200 || !answer.data) {
    setState("run-state", `run failed (${answer.status}): ${answer.text.slice(0, 200)}`, true);
    return;
  }
  render(answer.data);
  setState("run-state", `done: ${answer.data.results.length} line(s)`);
}

function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/x-yaml" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function downloadCases() {
  if (!lastRun) {
    setState("run-state", "run the lines first", true);
    return;
  }
  const picked = [];
  for (const tr of $("results").querySelectorAll("tbody tr")) {
    if (tr.querySelector("input.case").checked) picked.push(lastRun.results[Number(tr.dataset.index)].before);
  }
  const answer = await api("/api/cases", { policy: $("policy").value, lines: picked });
  if (answer.status !== 200 || !answer.data) {
    setState("run-state", `cases failed (${answer.status})`, true);
    return;
  }
  download(`${answer.data.policy}.cases.yaml`, answer.data.cases_yaml);
}

async function start() {
  const answer = await api("/api/state");
  if (answer.status !== 200 || !answer.data) {
    document.body.textContent = "This page needs the address with its token, as logscrub playground printed it.";
    return;
  }
  const state = answer.data;
  const note = $("key-note");
  if (state.ephemeral_key) {
    note.textContent = "Pseudonyms use an ephemeral key made for this session: they will not match your pipeline's.";
    note.classList.add("warn");
  } else {
    note.textContent = `Pseudonyms use the configured key (id ${state.key_id}).`;
  }
  const select = $("shipped");
  for (const name of Object.keys(state.policies)) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
  select.addEventListener("change", () => {
    $("policy").value = state.policies[select.value];
    checkPolicy().then((ok) => ok && run());
  });
  $("policy").value = state.policies[select.value] || "";
  $("samples").addEventListener("click", () => { $("lines").value = state.samples.join("\n"); run(); });
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    if (file.size > state.max_bytes) {
      setState("run-state", `the file is larger than ${state.max_bytes} bytes`, true);
      return;
    }
    file.text().then((text) => { $("lines").value = text; run(); });
  });
  const recheck = debounce(() => checkPolicy().then((ok) => ok && run()), 350);
  $("policy").addEventListener("input", recheck);
  $("lines").addEventListener("input", debounce(run, 350));
  $("run").addEventListener("click", run);
  $("download-policy").addEventListener("click", () => download(`${policyName}.yaml`, $("policy").value));
  $("download-cases").addEventListener("click", downloadCases);
  $("detail").addEventListener("click", () => { $("detail").hidden = true; });
  await checkPolicy();
}

document.addEventListener("DOMContentLoaded", start);
