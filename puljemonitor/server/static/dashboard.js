// The live dashboard: re-fetch the report when a choice changes or the change stream says a
// figure changed. The stream is read with fetch() rather than EventSource so a job centre's
// token can travel in the Authorization header (EventSource cannot send headers; a token in
// a URL would end up in logs and history). The token stays in this tab's sessionStorage.
"use strict";

const form = document.getElementById("controls");
const live = document.getElementById("live");
let lastEventId = null;
let loading = null;
let again = false;
let stream = null; // the AbortController of the open change stream

function token() {
  return form.elements.token.value.trim();
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (token()) h.Authorization = "Bearer " + token();
  return h;
}

function selection() {
  const q = new URLSearchParams();
  for (const name of ["pool", "month", "participant", "view"]) {
    const value = form.elements[name].value;
    if (value) q.set(name, value);
  }
  if (form.elements.unsuppressed.checked) q.set("unsuppressed", "1");
  return q;
}

function say(text, state) {
  live.textContent = text;
  live.dataset.state = state;
}

async function load() {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    try {
      const q = selection();
      const response = await fetch("/dashboard/report?" + q.toString(), { headers: headers() });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({ error: response.statusText }));
        say("Kan ikke vise: " + problem.error, "error");
        return;
      }
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      document.getElementById("report").replaceChildren(...doc.body.childNodes);
      document.title = doc.title;
      form.dataset.version = response.headers.get("X-Figures-Version") || form.dataset.version;
      q.delete("unsuppressed");
      history.replaceState(null, "", "/?" + q.toString());
      say("Opdateret " + new Date().toLocaleTimeString("da-DK") + " · version " + form.dataset.version, "live");
    } catch (e) {
      say("Kan ikke hente rapporten: " + e.message, "error");
    }
  })();
  await loading;
  loading = null;
  if (again) { again = false; await load(); }
}

function handle(event) {
  if (event.id) lastEventId = event.id;
  if (event.type === "reset") { load(); return; }
  if (event.type !== "figures") return;
  const change = JSON.parse(event.data);
  const pool = form.elements.pool.value;
  if (change.figures.some((f) => f.pool === pool) || change.figures.length === 0) load();
}

async function listen() {
  for (;;) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (lastEventId) extra["Last-Event-ID"] = lastEventId;
      stream = new AbortController();
      const response = await fetch("/api/v1/changes", { headers: headers(extra), signal: stream.signal });
      if (!response.ok) {
        say("Ingen live-opdatering (" + response.status + ")", "error");
      } else {
        if (live.dataset.state !== "live") say("Live · version " + form.dataset.version, "live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = { type: "message", data: "", id: null };
            const data = [];
            for (const line of block.split("\n")) {
              if (!line || line.startsWith(":")) continue;
              const colon = line.indexOf(":");
              const field = colon < 0 ? line : line.slice(0, colon);
              const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
              if (field === "event") event.type = text;
              else if (field === "data") data.push(text);
              else if (field === "id") event.id = text;
            }
            event.data = data.join("\n");
            handle(event);
          }
        }
      }
    } catch (e) {
      if (e.name === "AbortError") continue; // a new token: reconnect at once with it
      say("Forbindelsen blev afbrudt; prøver igen …", "error");
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

form.elements.token.value = sessionStorage.getItem("puljemonitor-token") || "";
form.addEventListener("change", (e) => {
  if (e.target.name === "pool") {
    // another pool has other months and participants: the server draws its bar anew
    location.assign("/?pool=" + encodeURIComponent(e.target.value) + "&view=" + form.elements.view.value);
    return;
  }
  if (e.target.name === "token") {
    sessionStorage.setItem("puljemonitor-token", token());
    lastEventId = null;
    if (stream) stream.abort();
  }
  load();
});
form.addEventListener("submit", (e) => e.preventDefault());
if (token()) load();
listen();
