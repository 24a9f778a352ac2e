// Third-party Node SSE servers for ssebench's real-world tests
// (cmd/ssebench/realworld_node_test.go), each written the way its library's
// documentation shows. Usage: node servers.mjs APP, with APP one of
// better-sse, compression, node-http. The server listens on a free
// loopback port and prints {"listening":PORT}; the test stops it by PID.
// Every stream is finite: EVENTS events, GAP_MS apart.
import http from "node:http";
import express from "express";
import compression from "compression";
import { createSession } from "better-sse";

const EVENTS = 20;
const GAP_MS = 50;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const listen = (server) => server.listen(0, "127.0.0.1", () => log({ listening: server.address().port }));

// better-sse, as its README shows for Express: createSession in the route,
// then session.push(data, eventName). The event id is left to the library,
// whose default is a fresh random UUID per event; the stream knows nothing
// of Last-Event-ID, so a reconnect gets the stream again from its start.
function betterSSE() {
  const app = express();
  app.get("/sse", async (req, res) => {
    const session = await createSession(req, res);
    for (let n = 0; n < EVENTS && session.isConnected; n++) {
      session.push({ n }, "tick");
      await sleep(GAP_MS);
    }
    res.end();
  });
  listen(http.createServer(app));
}

// A hand-written SSE route, as Express tutorials show it: headers flushed at
// once, then one event per tick with an id; it resumes after Last-Event-ID
// and answers 204 once the stream is over.
function sseRoute(req, res) {
  const last = req.get("Last-Event-ID");
  const start = last === undefined || last === "" ? 0 : Number(last) + 1;
  if (!Number.isInteger(start) || start < 0 || start > EVENTS) {
    res.status(400).json({ error: "unknown Last-Event-ID" });
    return;
  }
  if (start === EVENTS) {
    res.status(204).end();
    return;
  }
  res.set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Connection": "keep-alive" });
  res.flushHeaders();
  res.write("retry: 1000\n\n");
  let n = start;
  const timer = setInterval(() => {
    res.write(`id: ${n}\nevent: tick\ndata: {"n":${n}}\n\n`);
    if (++n === EVENTS) {
      clearInterval(timer);
      res.end();
    }
  }, GAP_MS);
  req.on("close", () => clearInterval(timer));
}

// held streams (GET .../held?id=K): ten "add" events, then it waits until
// GET /release?id=K (which may come earlier), then a "finish" event and the
// end. It logs {"written":K} once the ten events are written and
// {"ended":K} at the end, so a test can order what the client saw against
// what the server did.
const releases = new Map();
function release(id) {
  if (!releases.has(id)) {
    let resolve;
    const done = new Promise((r) => { resolve = r; });
    releases.set(id, { done, resolve });
  }
  return releases.get(id);
}
function heldRoute(req, res) {
  const id = String(req.query.id);
  res.set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
  res.flushHeaders();
  let n = 0;
  const timer = setInterval(() => {
    res.write(`id: ${n}\nevent: add\ndata: {"n":${n}}\n\n`);
    if (++n < 10) return;
    clearInterval(timer);
    log({ written: id });
    release(id).done.then(() => {
      res.write(`id: ${n}\nevent: finish\ndata: {"n":${n}}\n\n`);
      res.end();
      log({ ended: id });
    });
  }, 20);
  req.on("close", () => clearInterval(timer));
}

// compression() in front of SSE routes, as the compression README shows
// app-wide use (here on /gz only, /plain serves the same routes without
// it). With gzip accepted it holds the body in zlib until the response
// ends: the client sees every event at once, at the end.
function withCompression() {
  const app = express();
  app.use("/gz", compression());
  for (const prefix of ["/gz", "/plain"]) {
    app.get(prefix + "/events", sseRoute);
    app.get(prefix + "/held", heldRoute);
  }
  app.get("/release", (req, res) => {
    release(String(req.query.id)).resolve();
    res.status(204).end();
  });
  listen(http.createServer(app));
}

// A plain node:http SSE server that does not call res.flushHeaders():
// Node sends the headers with the first write, 1 s after the request. It
// numbers its events but ignores Last-Event-ID, as such a server often
// does: every connection gets the stream from the start.
function nodeHTTP() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    let n = 0;
    let timer;
    const first = setTimeout(() => {
      timer = setInterval(() => {
        res.write(`id: ${n}\nevent: tick\ndata: {"n":${n}}\n\n`);
        if (++n === EVENTS) {
          clearInterval(timer);
          res.end();
        }
      }, GAP_MS);
    }, 1000);
    req.on("close", () => { clearTimeout(first); clearInterval(timer); });
  });
  listen(server);
}

const apps = { "better-sse": betterSSE, compression: withCompression, "node-http": nodeHTTP };
const app = apps[process.argv[2]];
if (app === undefined) {
  console.error(`usage: node servers.mjs ${Object.keys(apps).join("|")}`);
  process.exit(2);
}
app();
