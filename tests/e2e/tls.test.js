'use strict';
// TLS for https:// destinations (docs/configuration.md, "TLS"): the OTLP exporter spec's
// OTEL_EXPORTER_OTLP_{,TRACES_,LOGS_,METRICS_}{CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY}, the
// otlp.tls.* / otlp.<signal>_tls.* / alerts.tls.* keys, their checks, and the system CA bundle
// found when libcurl's compiled-in one is missing (the Lambda layer on Amazon Linux 2023).
// Every sink is a real https server on loopback with certificates made by `openssl` at test time.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { makeCerts } = require('./lib/certs');
const r = require('./lib/records');
const { makeTempDir, uid } = require('./lib/util');

let pki;   // the CA that signed the sinks' certificates, and a client certificate
let other; // an unrelated CA: trusting it must not make the sink's certificate valid

/** An https sink, an agent exporting to it; `env` null-deletes SSL_CERT_FILE unless given. */
async function tlsSetup({ sinkTls, config = {}, env = {}, prefix } = {}) {
  const sink = await startSink({ tls: sinkTls || { key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) } });
  let agent;
  try {
    agent = await startAgent({
      config: testConfig(sink.url, merge({ export: { retry_initial: '100ms', retry_max: '300ms' } }, config)),
      env: { SSL_CERT_FILE: null, ...env },
      prefix,
    });
  } catch (e) {
    await sink.close();
    throw e;
  }
  const c = await connect(agent.socketPath);
  return {
    sink, agent, c,
    async close() { c.destroy(); await agent.stop('SIGTERM', 10000); await sink.close(); },
  };
}

function merge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] ? merge(out[k], v) : v;
  }
  return out;
}

/** Sends one log record and waits for its ack; its body. */
async function sendLog(c) {
  const body = uid('tls-log');
  c.send(r.log(uid('wf'), body));
  const ack = await c.flush(uid('f'));
  assert.equal(ack.accepted, 1);
  return body;
}

const logBodies = (sink) => sink.logs().map((l) => String(l.log.body));

describe('TLS to https:// destinations', needBinary, () => {
  before(() => {
    const dir = makeTempDir('spindle-tls-');
    pki = makeCerts(dir);
    other = makeCerts(dir, 'other-');
  });

  test('a private CA: refused without otlp.tls.ca_file (logged, retried, nothing lost), delivered once a reload sets it',
    { timeout: 60000 }, async () => {
      const h = await tlsSetup();
      try {
        const body = await sendLog(h.c);
        const line = await h.agent.waitForStderr(/export failed, will retry.*signal=logs/, 10000);
        assert.match(line, /certificate/i, 'the log line says why: the certificate');
        const st = await h.c.stats(uid('s'));
        assert.ok(st.export.retries >= 1, `retried (${st.export.retries})`);
        assert.equal(logBodies(h.sink).length, 0, 'nothing reached the sink unverified');
        // The user adds the CA file and reloads: the batch still waiting is delivered.
        const text = fs.readFileSync(h.agent.configPath, 'utf8');
        fs.writeFileSync(h.agent.configPath, `${text}\n# added\n`.replace(/^otlp:\n/m, `otlp:\n  tls:\n    ca_file: ${pki.ca}\n`));
        h.agent.proc.kill('SIGHUP');
        await h.agent.waitForStderr(/configuration reloaded/, 5000);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the retried log at the sink');
        const st2 = await h.c.stats(uid('s'));
        for (const [reason, n] of Object.entries(st2.dropped)) assert.equal(n, 0, `dropped.${reason}`);
      } finally {
        await h.close();
      }
    });

  test('OTEL_EXPORTER_OTLP_CERTIFICATE wins over the file\'s otlp.tls.ca_file (another CA)',
    { timeout: 30000 }, async () => {
      const h = await tlsSetup({
        config: { otlp: { tls: { ca_file: other.ca } } },
        env: { OTEL_EXPORTER_OTLP_CERTIFICATE: pki.ca },
      });
      try {
        const body = await sendLog(h.c);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
      } finally {
        await h.close();
      }
    });

  test('per signal: OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE applies to logs only; traces keep the general (wrong) CA',
    { timeout: 30000 }, async () => {
      const h = await tlsSetup({
        env: { OTEL_EXPORTER_OTLP_CERTIFICATE: other.ca, OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: pki.ca },
      });
      try {
        h.c.send(r.span(uid('wf'), 'checkout'));
        await h.c.flush(uid('f'));
        const body = await sendLog(h.c);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
        await h.agent.waitForStderr(/export failed, will retry.*signal=traces/, 10000);
        assert.equal(h.sink.spans().length, 0, 'no span got through with the other CA');
      } finally {
        await h.close();
      }
    });

  test('mTLS: a sink that requires a client certificate refuses spindle without one and accepts it with CLIENT_KEY/CLIENT_CERTIFICATE or the file keys',
    { timeout: 60000 }, async () => {
      const sinkTls = () => ({
        key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert),
        ca: fs.readFileSync(pki.ca), requestCert: true,
      });
      // Without a client certificate: the sink's handshake refuses it, nothing arrives.
      let h = await tlsSetup({ sinkTls: sinkTls(), env: { OTEL_EXPORTER_OTLP_CERTIFICATE: pki.ca } });
      try {
        await sendLog(h.c);
        await h.agent.waitForStderr(/export failed, will retry.*signal=logs/, 10000);
        assert.equal(logBodies(h.sink).length, 0, 'refused without a client certificate');
      } finally {
        await h.close();
      }
      // The exporter spec's variables.
      h = await tlsSetup({
        sinkTls: sinkTls(),
        env: {
          OTEL_EXPORTER_OTLP_CERTIFICATE: pki.ca,
          OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: pki.clientCert,
          OTEL_EXPORTER_OTLP_CLIENT_KEY: pki.clientKey,
        },
      });
      try {
        const body = await sendLog(h.c);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
        const req = h.sink.logs().find((l) => String(l.log.body) === body).request;
        assert.equal(req.clientCN, 'spindle-test-client', 'spindle presented its client certificate');
      } finally {
        await h.close();
      }
      // The same through the file's keys.
      h = await tlsSetup({
        sinkTls: sinkTls(),
        config: { otlp: { tls: { ca_file: pki.ca, cert_file: pki.clientCert, key_file: pki.clientKey } } },
      });
      try {
        const body = await sendLog(h.c);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
      } finally {
        await h.close();
      }
    });

  test('alerts.tls.ca_file: the webhook on an https:// URL with a private CA gets the alert',
    { timeout: 30000 }, async () => {
      const hook = await startSink({ tls: { key: fs.readFileSync(pki.serverKey), cert: fs.readFileSync(pki.serverCert) } });
      const hookReqs = () => hook.requests.filter((q) => q.path === '/hook');
      const alerts = (ca) => ({
        alerts: {
          evaluation_interval: '100ms', otlp_log: false, notify_max_attempts: 1,
          webhook: { url: `${hook.url}/hook` }, ...(ca ? { tls: { ca_file: ca } } : {}),
        },
      });
      try {
        for (const ca of [null, pki.ca]) {
          const agent = await startAgent({ config: testConfig(null, alerts(ca)), env: { SSL_CERT_FILE: null } });
          try {
            const c = await connect(agent.socketPath);
            c.send(r.event(uid('wf'), 'dead_letter', { function: 'f', queue: 'q' }));
            await c.flush(uid('f'));
            await agent.waitForStderr(/alert firing.*alertname=DeadLetter/, 5000);
            if (ca) {
              await hook.waitFor(() => hookReqs().length > 0, 10000, 'the webhook request');
              assert.match(hookReqs()[0].rawBody.toString('utf8'), /DeadLetter/);
            } else {
              // The one attempt fails at the handshake: counted, logged with the reason.
              const line = await agent.waitForStderr(/alert notification failed; retries exhausted/, 10000);
              assert.match(line, /certificate/i);
              assert.equal(hookReqs().length, 0, 'no webhook request without the CA');
            }
            c.destroy();
          } finally {
            await agent.stop('SIGTERM', 10000);
          }
        }
      } finally {
        await hook.close();
      }
    });

  test('--check-config and start-up name a TLS file that cannot be read, and a key without its certificate',
    { timeout: 30000 }, async () => {
      const dir = makeTempDir('spindle-tls-check-');
      const cfg = path.join(dir, 'c.yaml');
      fs.writeFileSync(cfg, 'otlp:\n  endpoint: https://127.0.0.1:1\n  tls:\n    ca_file: /nonexistent/ca.pem\n');
      let res = await runSpindle(['--check-config', cfg]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, new RegExp(`${cfg}:4: otlp\\.tls\\.ca_file '/nonexistent/ca\\.pem': No such file`));
      fs.writeFileSync(cfg, `alerts:\n  tls:\n    cert_file: ${dir}\n`);
      res = await runSpindle(['--check-config', cfg]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /c\.yaml:3: alerts\.tls\.cert_file '.*': is a folder/);
      fs.writeFileSync(cfg, `otlp:\n  metrics_tls:\n    key_file: ${pki.clientKey}\n`);
      res = await runSpindle(['--check-config', cfg]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /otlp\.metrics_tls\.key_file .*without otlp\.metrics_tls\.cert_file/);
      fs.writeFileSync(cfg, `otlp:\n  tls:\n    ca_file: ${pki.ca}\n    cert_file: ${pki.clientCert}\n    key_file: ${pki.clientKey}\n`);
      res = await runSpindle(['--check-config', cfg]);
      assert.equal(res.code, 0, res.stderr);
      // The environment: the variable is named.
      res = await runSpindle(['--socket', path.join(dir, 's.sock'), '--http-listen', 'off'],
        { env: { OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '/nonexistent/k.pem' } });
      assert.equal(res.code, 1);
      assert.match(res.stderr, /OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '\/nonexistent\/k\.pem': No such file/);
    });

  test('SSL_CERT_FILE names the default CA bundle when no CA file is configured', { timeout: 30000 }, async () => {
    const h = await tlsSetup({ env: { SSL_CERT_FILE: pki.ca } });
    try {
      const body = await sendLog(h.c);
      await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
      assert.match(h.agent.stderr(), /CA bundle from SSL_CERT_FILE/);
    } finally {
      await h.close();
    }
  });
});

// Amazon Linux 2023's layout, for real: a private mount namespace whose /etc is an overlay where
// libcurl's compiled-in bundle (Debian's /etc/ssl/certs/ca-certificates.crt) is gone and
// /etc/pki/tls/certs/ca-bundle.crt holds the bundle (here the test CA). Nothing on the host
// changes. Needs `unshare -m` (root, or -r with unprivileged user namespaces).
const alScript = [
  'set -e',
  'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$SPINDLE_T_UP,workdir=$SPINDLE_T_WORK" /etc',
  'rm -f /etc/ssl/certs/ca-certificates.crt',
  'mkdir -p /etc/pki/tls/certs',
  'if [ -n "$SPINDLE_T_CA" ]; then cp "$SPINDLE_T_CA" /etc/pki/tls/certs/ca-bundle.crt; fi',
  'exec "$0" "$@"',
].join('\n');
const unshareArgs = ['unshare', ...(process.getuid() === 0 ? [] : ['-r']), '-m', 'sh', '-c', alScript];

function overlayDirs() {
  const d = makeTempDir('spindle-al2023-');
  fs.mkdirSync(path.join(d, 'up'));
  fs.mkdirSync(path.join(d, 'work'));
  return { SPINDLE_T_UP: path.join(d, 'up'), SPINDLE_T_WORK: path.join(d, 'work') };
}

function namespaceWorks() {
  const res = spawnSync(unshareArgs[0], [...unshareArgs.slice(1), 'true'],
    { env: { ...process.env, ...overlayDirs(), SPINDLE_T_CA: '' }, timeout: 10000 });
  return res.status === 0;
}
const nsOk = namespaceWorks();

describe('the system CA bundle where libcurl\'s is missing (Amazon Linux 2023 layout)', needBinary, () => {
  before(() => {
    if (!pki) pki = makeCerts(makeTempDir('spindle-tls-'));
  });

  test('no setting: /etc/pki/tls/certs/ca-bundle.crt is found at start and verifies the endpoint',
    { timeout: 30000, skip: nsOk ? false : 'unshare -m (a private mount namespace) is not available here' },
    async () => {
      const h = await tlsSetup({ prefix: unshareArgs, env: { ...overlayDirs(), SPINDLE_T_CA: pki.ca } });
      try {
        const body = await sendLog(h.c);
        await h.sink.waitFor((s) => logBodies(s).includes(body), 10000, 'the log at the sink');
        assert.match(h.agent.stderr(),
          /libcurl's CA bundle is missing here; using the system's.*path="\/etc\/pki\/tls\/certs\/ca-bundle\.crt" libcurl_default="\/etc\/ssl\/certs\/ca-certificates\.crt"/);
      } finally {
        await h.close();
      }
    });
});
