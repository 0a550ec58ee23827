'use strict';
// A stand-in for AWS Lambda's Extensions API and Telemetry API, on loopback, following AWS's
// published shapes: it plays the platform for a spindle started as an extension
// (AWS_LAMBDA_RUNTIME_API pointing here). It records every call with its time, holds
// event/next until the test pushes an event, and posts Telemetry API batches to the
// listener spindle subscribed (the port from the destination URI, on 127.0.0.1: outside
// Lambda, sandbox.localdomain does not resolve).

const http = require('node:http');

async function startLambdaApi(opts = {}) {
  const calls = [];       // {time, method, path, headers, body}
  const queue = [];       // events waiting for an event/next
  let held = null;        // the event/next response held open
  let subscription = null;
  const extId = `ext-${process.pid}-${Date.now()}`;

  function answerNext() {
    if (held && queue.length) {
      const { res } = held;
      held = null;
      const ev = queue.shift();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Lambda-Extension-Event-Identifier': `ev-${Date.now()}` });
      res.end(JSON.stringify(ev));
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const call = { time: Date.now(), method: req.method, path: req.url, headers: req.headers, body };
      calls.push(call);
      const p = req.url;
      if (p === '/2020-01-01/extension/register' && req.method === 'POST') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Lambda-Extension-Identifier': extId });
        res.end(JSON.stringify({ functionName: 'fn', functionVersion: '$LATEST', handler: 'index.handler' }));
      } else if (p === '/2022-07-01/telemetry' && req.method === 'PUT') {
        if (req.headers['lambda-extension-identifier'] !== extId) { res.writeHead(403); res.end(); return; }
        subscription = JSON.parse(body);
        if (opts.subscribeStatus) { res.writeHead(opts.subscribeStatus); res.end('{"errorType":"ValidationError"}'); return; }
        res.writeHead(200); res.end('OK');
      } else if (p === '/2020-01-01/extension/event/next' && req.method === 'GET') {
        if (req.headers['lambda-extension-identifier'] !== extId) { res.writeHead(403); res.end(); return; }
        held = { res, call };
        answerNext();
      } else if (/^\/2020-01-01\/extension\/(init|exit)\/error$/.test(p) && req.method === 'POST') {
        res.writeHead(202); res.end('{"status":"OK"}');
      } else {
        res.writeHead(404); res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;

  const api = {
    address: `127.0.0.1:${port}`,
    extId,
    calls,
    subscription: () => subscription,
    callsTo: (path) => calls.filter((c) => c.path === path),
    nextCalls: () => calls.filter((c) => c.path === '/2020-01-01/extension/event/next'),
    /** Queues an event; a held (or the next) event/next returns it. */
    push(ev) { queue.push(ev); answerNext(); },
    invoke(requestId, deadlineInMs = 3000) {
      api.push({ eventType: 'INVOKE', deadlineMs: Date.now() + deadlineInMs, requestId,
        invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
        tracing: { type: 'X-Amzn-Trace-Id', value: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' } });
    },
    shutdown(deadlineInMs, reason = 'spindown') {
      api.push({ eventType: 'SHUTDOWN', shutdownReason: reason, deadlineMs: Date.now() + deadlineInMs });
    },
    /** POSTs one Telemetry API batch to spindle's listener; resolves with the status. */
    telemetry(events) {
      const uri = new URL(subscription.destination.URI);
      const data = Buffer.from(JSON.stringify(events));
      return new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: Number(uri.port), path: uri.pathname, method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Content-Length': data.length } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', reject);
        req.end(data);
      });
    },
    close() {
      if (held) { try { held.res.destroy(); } catch (_) { /* gone */ } held = null; }
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
  return api;
}

module.exports = { startLambdaApi };
