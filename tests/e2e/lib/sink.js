'use strict';
// A loopback OTLP/HTTP receiver that keeps every request and decodes it independently.

const http = require('node:http');
const https = require('node:https');
const zlib = require('node:zlib');
const otlp = require('./otlp');
const { waitUntil } = require('./util');

const DEFAULT_ROUTES = { '/v1/traces': 'traces', '/v1/logs': 'logs', '/v1/metrics': 'metrics' };

function signalFor(path, routes) {
  const p = path.split('?')[0];
  if (routes[p]) return routes[p];
  // Per-signal endpoints are used as-is by the agent; guess the signal from the path's end.
  if (/traces\/?$/.test(p)) return 'traces';
  if (/logs\/?$/.test(p)) return 'logs';
  if (/metrics\/?$/.test(p)) return 'metrics';
  return null;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * startSink(opts) → Promise<sink>
 *   opts.respond(rec) → {status, headers, body} | undefined  (fault injection; may be async)
 *   opts.routes: {path: 'traces'|'logs'|'metrics'} extra path → signal mappings
 *   opts.tls: {key, cert, ca?, requestCert?} → an https:// sink (node's tls options; with
 *     requestCert it refuses clients without a certificate signed by `ca`)
 * sink: {url, port, requests, spans(), logs(), metrics(), waitFor(pred, timeoutMs), errors(),
 *        tlsErrors, clear(), summary(), close()}
 *   tlsErrors: messages of refused TLS handshakes (the server's side of them)
 */
async function startSink(opts = {}) {
  const routes = { ...DEFAULT_ROUTES, ...(opts.routes || {}) };
  const requests = [];
  const tlsErrors = [];

  const handler = async (req, res) => {
    const rec = {
      time: Date.now(),
      method: req.method,
      path: req.url,
      headers: req.headers,
      // As sent, duplicates included (node keeps only the first Authorization in `headers`).
      rawHeaders: req.rawHeaders,
      signal: signalFor(req.url, routes),
      contentType: (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase(),
      contentEncoding: (req.headers['content-encoding'] || '').toLowerCase(),
      rawBody: null,
      bodyBytes: null,
      body: null,
      format: null,
      error: null,
      status: null,
      // The client certificate's subject CN, on an https sink that asked for one.
      clientCN: opts.tls && req.socket.getPeerCertificate
        ? (req.socket.getPeerCertificate().subject || {}).CN || null : null,
    };
    let status = 200;
    try {
      rec.rawBody = await readBody(req);
      if (req.method !== 'POST') {
        status = 405;
        rec.error = `method ${req.method}`;
      } else if (!rec.signal) {
        status = 404;
        rec.error = `unknown path ${req.url}`;
      } else {
        let bytes = rec.rawBody;
        if (rec.contentEncoding === 'gzip') bytes = zlib.gunzipSync(bytes);
        else if (rec.contentEncoding && rec.contentEncoding !== 'identity') {
          throw new Error(`unsupported content-encoding ${rec.contentEncoding}`);
        }
        rec.bodyBytes = bytes;
        if (rec.contentType === 'application/x-protobuf') {
          rec.format = 'protobuf';
          rec.body = otlp.decodeProtobuf(rec.signal, bytes);
        } else if (rec.contentType === 'application/json') {
          rec.format = 'json';
          rec.body = JSON.parse(bytes.toString('utf8'));
        } else {
          status = 415;
          rec.error = `unsupported content-type ${rec.contentType}`;
        }
      }
    } catch (err) {
      status = 400;
      rec.error = String(err && err.message ? err.message : err);
    }
    requests.push(rec);

    let reply;
    if (opts.respond) {
      try {
        reply = await opts.respond(rec);
      } catch (err) {
        reply = { status: 500, body: String(err) };
      }
    }
    if (!reply) {
      const isJson = rec.contentType === 'application/json';
      reply = {
        status,
        headers: { 'content-type': isJson ? 'application/json' : 'application/x-protobuf' },
        body: status === 200 ? (isJson ? '{}' : Buffer.alloc(0)) : (rec.error || ''),
      };
    }
    if (reply.destroy) { // simulate a connection failure
      rec.status = 0;
      req.socket.destroy();
      return;
    }
    rec.status = reply.status || 200;
    const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
    res.writeHead(rec.status, { 'content-length': body.length, ...(reply.headers || {}) });
    res.end(body);
  };
  const server = opts.tls
    ? https.createServer({ ...opts.tls, rejectUnauthorized: !!opts.tls.requestCert }, handler)
    : http.createServer(handler);
  if (opts.tls) server.on('tlsClientError', (err) => tlsErrors.push(String(err && err.message)));
  server.keepAliveTimeout = 5000;

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  const ok = (r, signal) => r.body && r.signal === signal && r.status === 200;

  const sink = {
    port,
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    tlsErrors,
    /** Requests for one signal (all statuses). */
    requestsFor(signal) { return requests.filter((r) => r.signal === signal); },
    /** Every span received in a 200-answered request: [{resource, scope, span, request}]. */
    spans() {
      const out = [];
      for (const r of requests) if (ok(r, 'traces')) for (const s of otlp.flattenSpans(r.body)) out.push({ ...s, request: r });
      return out;
    },
    /** Every log record received: [{resource, scope, log, request}]. */
    logs() {
      const out = [];
      for (const r of requests) if (ok(r, 'logs')) for (const l of otlp.flattenLogs(r.body)) out.push({ ...l, request: r });
      return out;
    },
    /** Every metric data point received, in arrival order: [{resource, scope, metric, type, point, request}]. */
    metrics() {
      const out = [];
      for (const r of requests) if (ok(r, 'metrics')) for (const m of otlp.flattenMetrics(r.body)) out.push({ ...m, request: r });
      return out;
    },
    /** Requests the sink could not decode or route. */
    errors() { return requests.filter((r) => r.error); },
    /** Polls pred(sink) until truthy (returned); rejects after timeoutMs with a summary. */
    waitFor(pred, timeoutMs = 5000, what = 'sink condition') {
      return waitUntil(() => pred(sink), { timeoutMs, what, describe: () => sink.summary() });
    },
    clear() { requests.length = 0; },
    summary() {
      const lines = [`sink ${sink.url}: ${requests.length} request(s)`];
      for (const r of requests.slice(-20)) {
        let n = '';
        if (r.body && r.signal === 'traces') n = `${otlp.flattenSpans(r.body).length} spans`;
        if (r.body && r.signal === 'logs') n = `${otlp.flattenLogs(r.body).length} logs`;
        if (r.body && r.signal === 'metrics') n = `${otlp.flattenMetrics(r.body).length} points`;
        lines.push(`  ${r.method} ${r.path} ${r.contentType} ${r.contentEncoding || '-'} -> ${r.status} ${n} ${r.error || ''}`);
      }
      const spans = sink.spans();
      if (spans.length) {
        lines.push('  spans:');
        for (const { span, resource } of spans.slice(-30)) {
          lines.push(`    ${span.name} trace=${span.traceId} span=${span.spanId} parent=${span.parentSpanId} service=${resource['service.name']}`);
        }
      }
      return lines.join('\n');
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        if (server.closeAllConnections) server.closeAllConnections();
      });
    },
  };
  return sink;
}

module.exports = { startSink };
