'use strict';
// One HTTP client for the whole agent (issue 10): the OTLP exporter and the alert notifiers post
// through one libcurl multi handle, so they share its connection cache, and libcurl is loaded
// only when one of them is configured.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { alertsYaml } = require('./lib/alerting');
const r = require('./lib/records');
const { uid, waitUntil, makeTempDir } = require('./lib/util');
const path = require('node:path');

/** A loopback server that answers 200 to every POST and notes the connection each came on. */
async function startPeer() {
  const requests = [];
  let next = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ path: req.url, conn: req.socket.peerId });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.on('connection', (s) => { s.peerId = ++next; });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

const libcurlMapped = (pid) => fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes('libcurl');

describe('one HTTP client for the exporter and the notifiers', needBinary, () => {
  test('a webhook on the OTLP endpoint\'s host and port goes over a connection the exporter also uses', { timeout: 20000 }, async () => {
    const peer = await startPeer();
    const settings = { evaluation_interval: '100ms', resend_interval: '300ms', webhook: { url: `${peer.url}/hook` } };
    // Self-metrics every 500 ms keep the exporter posting while the alert goes out.
    const agent = await startAgent({ config: (dir) => testConfig(peer.url, {})(dir) + alertsYaml(settings) });
    const c = await connect(agent.socketPath);
    try {
      // The exporter's connection first, then an alert while it is open and mostly idle.
      await waitUntil(() => peer.requests.some((q) => q.path.startsWith('/v1/')), { timeoutMs: 5000, what: 'an OTLP export' });
      const cid = uid('order');
      c.send(r.workflowStart(cid, { workflow: 'checkout' }));
      c.send(r.event(cid, 'dead_letter', { function: uid('fn'), queue: 'orders-dlq' }));
      await c.flush(uid('f'));
      await waitUntil(() => peer.requests.some((q) => q.path === '/hook'), { timeoutMs: 5000, what: 'the webhook' });
      // Two clients would keep two connection caches: a connection would never carry both.
      const shared = () => {
        const hooks = new Set(peer.requests.filter((q) => q.path === '/hook').map((q) => q.conn));
        return peer.requests.some((q) => q.path.startsWith('/v1/') && hooks.has(q.conn));
      };
      await waitUntil(shared, { timeoutMs: 5000, what: 'a connection carrying both an OTLP export and the webhook' });
      const st = await c.stats(uid('s'));
      assert.ok(st.alerts.notifications_sent >= 1, 'the notification was sent');
      assert.equal(st.dropped.non_retryable, 0);
    } finally {
      c.destroy();
      const info = await agent.stop('SIGTERM', 10000);
      assert.equal(info.code, 0, `clean exit (${JSON.stringify(info)})`);
      await peer.close();
    }
  });

  test('libcurl is loaded only when an OTLP endpoint or an HTTP notifier needs it', { timeout: 20000 }, async () => {
    // File export only, no HTTP notifier: no HTTP client, so no libcurl.
    const quiet = await startAgent({ config: (dir) => testConfig(null, { file: { directory: `${dir}/out` } })(dir) });
    try {
      const c = await connect(quiet.socketPath);
      await c.stats(uid('s')); // running and past its start-up
      c.destroy();
      assert.equal(libcurlMapped(quiet.pid), false, 'libcurl not mapped');
    } finally {
      await quiet.stop('SIGTERM', 10000);
    }
    // A webhook alone (no OTLP endpoint) makes the client.
    const peer = await startPeer();
    const hook = await startAgent({
      config: (dir) => testConfig(null, { file: { directory: `${dir}/out` } })(dir) + alertsYaml({ webhook: { url: `${peer.url}/hook` } }),
    });
    try {
      const c = await connect(hook.socketPath);
      await c.stats(uid('s'));
      c.destroy();
      assert.equal(libcurlMapped(hook.pid), true, 'libcurl mapped for the webhook');
    } finally {
      const info = await hook.stop('SIGTERM', 10000);
      assert.equal(info.code, 0);
      await peer.close();
    }
  });

  test('libcrypto is loaded once the socket listens, not linked: the socket serves, and without it spindle exits 1 naming it', { timeout: 20000 }, async () => {
    // Linked, libcrypto cost 4.5 ms of every exec (docs/lambda.md, "Start-up cost"); loaded
    // after the inputs start, an agent still needs it before the first record (every derived id).
    const quiet = await startAgent({ config: (dir) => testConfig(null, { file: { directory: `${dir}/out` } })(dir) });
    try {
      const c = await connect(quiet.socketPath);
      await c.stats(uid('s'));
      c.destroy();
      assert.ok(fs.readFileSync(`/proc/${quiet.pid}/maps`, 'utf8').includes('libcrypto'), 'libcrypto mapped once started');
    } finally {
      await quiet.stop('SIGTERM', 10000);
    }
    const dir = makeTempDir();
    fs.writeFileSync(path.join(dir, 'libcrypto.so.3'), '');
    fs.writeFileSync(path.join(dir, 'c.yaml'), testConfig(null, { file: { directory: `${dir}/out` } })(dir));
    const res = await runSpindle(['--config', path.join(dir, 'c.yaml')], { env: { LD_LIBRARY_PATH: dir } });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /cannot load libcrypto, which derives every id/);
    assert.ok(res.stderr.includes('libcrypto.so.3'), res.stderr);
  });
});
