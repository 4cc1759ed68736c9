// A webhook receiver for the http tests, on 127.0.0.1. Every request to /hooks/<name> is
// verified with the reference Standard Webhooks library (npm "standardwebhooks") against each
// secret configured for <name>, recorded, and answered as <name>'s behaviour says. Prints
// "listening <port>" once ready.
//
//   POST /_control/<name>  {"secrets": ["whsec_..."], "fail_first": 3, "status": 500,
//                           "hang": false, "fail_headers": {...}, "fail_body_hex": "..."}
//                                                   configures a receiver (replaces it); a
//                                                   failing answer carries fail_headers and the
//                                                   bytes of fail_body_hex ("not now" without)
//   GET  /_control/<name>  {"received": [...]}      what it got, in order
import http from "node:http";
import { Webhook } from "standardwebhooks";

const receivers = new Map();

function receiver(name) {
  if (!receivers.has(name)) {
    receivers.set(name, { secrets: [], fail_first: 0, status: 500, hang: false, received: [] });
  }
  return receivers.get(name);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://localhost");
  const [, kind, name] = url.pathname.split("/");
  const body = await readBody(req);
  if (kind === "_control") {
    const r = receiver(name);
    if (req.method === "POST") {
      const config = JSON.parse(body || "{}");
      receivers.set(name, { secrets: [], fail_first: 0, status: 500, hang: false, received: [],
                            ...config });
      res.writeHead(204).end();
    } else {
      res.writeHead(200, { "content-type": "application/json" })
         .end(JSON.stringify({ received: r.received }));
    }
    return;
  }
  if (kind !== "hooks") {
    res.writeHead(404).end();
    return;
  }
  const r = receiver(name);
  const headers = {
    "webhook-id": req.headers["webhook-id"],
    "webhook-timestamp": req.headers["webhook-timestamp"],
    "webhook-signature": req.headers["webhook-signature"],
  };
  const verified = r.secrets.map((secret) => {
    try {
      new Webhook(secret).verify(body, headers);
      return true;
    } catch (err) {
      return false;
    }
  });
  const entry = { id: headers["webhook-id"], timestamp: headers["webhook-timestamp"],
                  signature: headers["webhook-signature"], body, verified,
                  at: Date.now() };
  r.received.push(entry);
  if (r.hang) return;  // never answers: the sender's timeout ends it
  if (r.received.length <= r.fail_first) {
    entry.answered = r.status;
    const reply = r.fail_body_hex === undefined ? "not now" : Buffer.from(r.fail_body_hex, "hex");
    res.writeHead(r.status, { "content-type": "text/plain", ...(r.fail_headers || {}) })
       .end(reply);
    return;
  }
  entry.answered = 200;
  res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
});

server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
