// The social-events console: lists the endpoints of the AsyncAPI document, sends a
// request over one WebSocket and shows every frame that arrives. Plain JavaScript, no
// dependencies; page text is only ever set as text, never parsed as HTML (descriptions
// are Markdown, rendered by building elements: see renderMarkdown).
"use strict";

const byId = (id) => document.getElementById(id);

const CODE_NAMES = {
  400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found",
  409: "conflict", 413: "too large", 429: "too many requests", 500: "server error",
  503: "unavailable",
};

const CLOSE_NAMES = {
  1000: "closed", 1001: "the server shuts down", 1006: "the connection was lost or refused",
  1008: "policy: the token expired", 1009: "frame too large", 1013: "too slow to read pushes",
};

const state = {
  endpoints: new Map(), // name -> { description, example }
  selected: null,
  socket: null,
  closing: false, // the user asked to disconnect
  nextId: 1,
  // Part of every event.id this page sends: a repeated id of a write is taken as a retry.
  page: Math.random().toString(36).slice(2, 10),
  pending: new Map(), // event.id -> { endpoint, sentAt }
};

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

// Markdown of the AsyncAPI document's descriptions, rendered into `container` as
// elements: paragraphs, lists, `code`, **bold**, *emphasis*, [links](address). Text is
// only ever set as text, so HTML in a description shows as written; a link goes only to
// an http(s) or mailto address (any other is shown as its text).
function renderMarkdown(container, markdown) {
  container.replaceChildren();
  const item = /^\s*([-*+]|(\d+)[.)])\s+(.*)$/;
  let paragraph = null; // lines of the paragraph being read
  let list = null; // the list being read, and its current item's lines
  const endParagraph = () => {
    if (paragraph) container.append(element("p", {}, ...inline(paragraph.join(" "))));
    paragraph = null;
  };
  const endItem = () => {
    if (list && list.lines) list.node.append(element("li", {}, ...inline(list.lines.join(" "))));
    if (list) list.lines = null;
  };
  const endList = () => {
    endItem();
    if (list) container.append(list.node);
    list = null;
  };
  for (const line of String(markdown || "").replace(/\r\n?/g, "\n").split("\n")) {
    const started = line.match(item);
    if (line.trim() === "") {
      endParagraph();
      endList();
    } else if (started) {
      endParagraph();
      const ordered = started[2] !== undefined;
      if (list && list.ordered !== ordered) endList();
      if (!list) {
        const node = element(ordered ? "ol" : "ul", {});
        if (ordered && started[2] !== "1") node.start = Number(started[2]);
        list = { node, ordered, lines: null };
      }
      endItem();
      list.lines = [started[3].trim()];
    } else if (list) {
      list.lines.push(line.trim());
    } else {
      (paragraph = paragraph || []).push(line.trim());
    }
  }
  endParagraph();
  endList();
}

// The inline Markdown of `text` as nodes: `code`, **bold**, *emphasis* or _emphasis_,
// [text](address); everything else as text.
function inline(text) {
  const pattern = /`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^()\s]+)\)|\*([^*\s](?:[^*]*[^*\s])?)\*|(^|[^\w])_([^_\s](?:[^_]*[^_\s])?)_(?!\w)/g;
  const nodes = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    let start = match.index;
    if (match[6] !== undefined) {
      start += match[6].length; // the character before `_` is text
    }
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    if (match[1] !== undefined) {
      nodes.push(element("code", {}, match[1]));
    } else if (match[2] !== undefined) {
      nodes.push(element("strong", {}, ...inline(match[2])));
    } else if (match[3] !== undefined) {
      nodes.push(link(match[3], match[4]));
    } else if (match[5] !== undefined) {
      nodes.push(element("em", {}, ...inline(match[5])));
    } else {
      nodes.push(element("em", {}, ...inline(match[7])));
    }
    at = match.index + match[0].length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

// A link to `address` when it is an http(s) or mailto one; else its text alone.
function link(text, address) {
  let url = null;
  try {
    url = new URL(address, location.href);
  } catch (error) {
    url = null;
  }
  if (url === null || !["http:", "https:", "mailto:"].includes(url.protocol)) {
    return element("span", {}, ...inline(text));
  }
  return element("a", { href: url.href, rel: "noopener noreferrer", target: "_blank" },
    ...inline(text));
}

// The user a token is for (its `sub`), read without checking it; "" when unreadable.
function subjectOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part + "===".slice((part.length + 3) % 4)),
      (character) => character.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return typeof claims.sub === "string" ? claims.sub : "";
  } catch (error) {
    return "";
  }
}

function showProblem(id, text) {
  const node = byId(id);
  node.textContent = text || "";
  node.hidden = !text;
}

function setStatus(kind, text) {
  const status = byId("status");
  status.className = "status " + kind;
  status.textContent = text;
  const open = kind === "open";
  byId("send").disabled = !open || !state.selected;
  byId("connect").disabled = kind === "open" || kind === "connecting";
  byId("disconnect").disabled = !(kind === "open" || kind === "connecting");
}

function clock() {
  return new Date().toLocaleTimeString([], { hour12: false });
}

// One entry of the frame log, newest first.
function logFrame(kind, endpoint, summary, frame) {
  const entry = element("li", { class: "frame " + kind, "data-endpoint": endpoint || "" },
    element("header", {},
      element("time", {}, clock()),
      element("strong", {}, endpoint || ""),
      element("span", { class: "summary" }, summary)));
  if (frame !== undefined) {
    entry.append(element("pre", {}, JSON.stringify(frame, null, 2)));
  }
  byId("frames").prepend(entry);
}

// The contract: every endpoint and push of /asyncapi.json, with examples.
async function loadContract() {
  let documentJson;
  try {
    const response = await fetch("asyncapi.json", { cache: "no-store" });
    if (!response.ok) throw new Error("GET /asyncapi.json answered " + response.status);
    documentJson = await response.json();
  } catch (error) {
    showProblem("contract-problem", "Cannot load the API description: " + error.message);
    return;
  }
  const operations = Object.values(documentJson.operations)
    .sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
  for (const operation of operations) {
    const name = operation.title;
    if (operation.action === "send") {
      const request = resolve(documentJson, operation.messages[0]);
      const example = request && request.examples && request.examples[0];
      state.endpoints.set(name, {
        description: operation.description || "",
        example: example && example.payload.data !== undefined ? example.payload.data : {},
      });
      const button = element("button", { type: "button", "data-endpoint": name }, name);
      button.addEventListener("click", () => select(name));
      byId("endpoint-list").append(element("li", {}, button));
    } else {
      const description = element("div", { class: "markdown" });
      renderMarkdown(description, operation.description || "");
      byId("push-list").append(element("li", { "data-push": name },
        element("details", {}, element("summary", {}, element("code", {}, name)),
          description)));
    }
  }
}

// The object a local `$ref` (`#/a/b`) of the document points at, followed until it is
// not a reference; `undefined` when it points nowhere.
function resolve(documentJson, value) {
  while (value && typeof value.$ref === "string" && value.$ref.startsWith("#/")) {
    value = value.$ref.slice(2).split("/")
      .map((token) => token.replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((object, token) => (object === undefined ? undefined : object[token]), documentJson);
  }
  return value;
}

function select(name) {
  state.selected = name;
  for (const button of byId("endpoint-list").querySelectorAll("button")) {
    button.classList.toggle("selected", button.dataset.endpoint === name);
  }
  const endpoint = state.endpoints.get(name);
  byId("endpoint-name").textContent = name;
  renderMarkdown(byId("endpoint-description"), endpoint.description);
  byId("data").value = JSON.stringify(endpoint.example, null, 2);
  byId("example").disabled = false;
  byId("send").disabled = !isOpen();
  showProblem("request-problem", "");
}

function isOpen() {
  return state.socket !== null && state.socket.readyState === WebSocket.OPEN;
}

// Whether the service signs tokens for the console (development mode only).
function signsDevelopmentTokens() {
  const meta = document.querySelector('meta[name="development-tokens"]');
  return meta !== null && meta.content === "on";
}

async function developmentToken() {
  const user = byId("development-user").value.trim();
  try {
    // This start's console key, from the address the service printed (`#key=…`).
    const key = new URLSearchParams(location.hash.slice(1)).get("key") || "";
    const response = await fetch("console/token?user=" + encodeURIComponent(user),
      { cache: "no-store", headers: { "X-Console-Key": key } });
    const text = await response.text();
    if (!response.ok) {
      showProblem("request-problem", "No development token: " + text);
      return;
    }
    byId("token").value = text.trim();
    showProblem("request-problem", "");
    // A connection open with the previous token is that user's: act as the new one.
    if (state.socket !== null) reconnect();
  } catch (error) {
    showProblem("request-problem", "No development token: " + error.message);
  }
}

// Closes the connection of the previous token and connects with the token given now.
function reconnect() {
  const previous = state.socket;
  state.socket = null; // its closing is no longer this page's connection closing
  state.pending.clear();
  if (previous) previous.close(1000, "reconnecting with a new token");
  logFrame("note", "", "reconnecting as " + (subjectOf(byId("token").value.trim()) || "?"));
  connect();
}

function connect() {
  const token = byId("token").value.trim();
  if (!token) {
    showProblem("request-problem", "Paste a token first.");
    return;
  }
  const user = subjectOf(token);
  const url = new URL("api/v0/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", token);
  const socket = new WebSocket(url);
  state.socket = socket;
  state.closing = false;
  setStatus("connecting", "connecting…");
  socket.addEventListener("open", () => {
    if (state.socket !== socket) return;
    const connected = user ? "connected as " + user : "connected";
    setStatus("open", connected);
    logFrame("note", "", connected);
  });
  socket.addEventListener("message", (message) => received(message.data));
  socket.addEventListener("close", (close) => {
    if (state.socket !== socket) return;
    state.socket = null;
    state.pending.clear();
    const why = close.reason || CLOSE_NAMES[close.code] || "";
    const hint = close.code === 1006 && !state.closing
      ? " (an upgrade refused with 401 or 429 looks like this: check the token)" : "";
    setStatus("closed", "not connected");
    logFrame("note failed", "", "closed " + close.code + (why ? ": " + why : "") + hint);
  });
}

function disconnect() {
  if (!state.socket) return;
  state.closing = true;
  state.socket.close(1000, "closed by the console");
}

function received(text) {
  let frame;
  try {
    frame = JSON.parse(text);
  } catch (error) {
    logFrame("note failed", "", "a frame that is not JSON: " + text.slice(0, 200));
    return;
  }
  const id = frame.event && frame.event.id;
  const request = id !== undefined ? state.pending.get(id) : undefined;
  const failed = frame.error && frame.error.status === true;
  const failure = failed
    ? frame.error.code + " " + (CODE_NAMES[frame.error.code] || "error") + ": " +
      frame.error.message
    : "";
  if (request && request.endpoint === frame.endpoint) {
    state.pending.delete(id);
    const took = Math.round(performance.now() - request.sentAt) + " ms";
    logFrame(failed ? "answer failed" : "answer ok", frame.endpoint,
      (failed ? "✗ " + failure : "✓ answered") + " · " + took, frame);
  } else if (failed) {
    // A refusal of a frame that could not be read (no id to match), or a token expiring.
    logFrame("failure failed", frame.endpoint, "✗ " + failure, frame);
  } else {
    logFrame("push", frame.endpoint, "push", frame);
  }
}

function send() {
  showProblem("request-problem", "");
  if (!state.selected) return;
  if (!isOpen()) {
    showProblem("request-problem", "Connect first.");
    return;
  }
  const text = byId("data").value.trim();
  let data;
  try {
    data = text === "" ? undefined : JSON.parse(text);
  } catch (error) {
    showProblem("request-problem", "data is not JSON: " + error.message);
    return;
  }
  const id = "console-" + state.page + "-" + state.nextId++;
  const frame = { endpoint: state.selected, event: { id, date: Date.now() } };
  if (data !== undefined) frame.data = data;
  state.pending.set(id, { endpoint: state.selected, sentAt: performance.now() });
  state.socket.send(JSON.stringify(frame));
  logFrame("sent", state.selected, "sent", frame);
}

function start() {
  byId("connect").addEventListener("click", connect);
  byId("disconnect").addEventListener("click", disconnect);
  byId("send").addEventListener("click", send);
  byId("example").addEventListener("click", () => state.selected && select(state.selected));
  byId("clear").addEventListener("click", () => byId("frames").replaceChildren());
  byId("development-token").addEventListener("click", developmentToken);
  byId("data").addEventListener("keydown", (key) => {
    if (key.key === "Enter" && (key.ctrlKey || key.metaKey)) send();
  });
  setStatus("closed", "not connected");
  loadContract();
  if (signsDevelopmentTokens()) {
    byId("development").hidden = false;
    developmentToken();
  }
}

start();
