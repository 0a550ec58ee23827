'use strict';
// Alerting peers for the e2e tests: a webhook receiver (what spindle's webhook notifier and
// Alertmanager's webhook both post to) and a real Alertmanager (Debian's
// prometheus-alertmanager) on a loopback port chosen at run time.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { makeTempDir, sleep, toYaml, waitUntil } = require('./util');

/** YAML of the alerts section: settings as nested mappings, rules as flow mappings. */
function alertsYaml(settings, rules = []) {
  let s = toYaml({ alerts: settings });
  if (rules.length) {
    s += '  rules:\n';
    for (const rule of rules) {
      const items = Object.entries(rule).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : JSON.stringify(String(v))}`);
      s += `    - {${items.join(', ')}}\n`;
    }
  }
  return s;
}


const AM_BIN = process.env.ALERTMANAGER_BIN || '/usr/bin/prometheus-alertmanager';

/**
 * startReceiver() → {url, requests, payloads(), alerts(), close()}
 * requests: {time, headers, raw (Buffer), json}; alerts(): every alert of every payload, each
 * with the payload's `status` as `payloadStatus` and its arrival `time`.
 */
async function startReceiver() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let json = null;
      try { json = JSON.parse(raw.toString('utf8')); } catch (_) { /* kept raw */ }
      requests.push({ time: Date.now(), path: req.url, headers: req.headers, raw, json });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const rec = {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    payloads: () => requests.map((r) => r.json).filter(Boolean),
    alerts: () => requests.flatMap((r) => (r.json && Array.isArray(r.json.alerts)
      ? r.json.alerts.map((a) => ({ ...a, payloadStatus: r.json.status, time: r.time })) : [])),
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
  return rec;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function getJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}

/**
 * startAlertmanager({webhookUrl, port}) → {url, alerts(), stderr(), stop()}
 * A fresh config (one webhook receiver, send_resolved: true, short group timers), a fresh
 * storage dir, no clustering. alerts(): GET /api/v2/alerts (active, not silenced/inhibited).
 * port: listen there (an agent already points at it); default a free port chosen now.
 */
async function startAlertmanager({ webhookUrl, port: fixedPort }) {
  if (!fs.existsSync(AM_BIN)) throw new Error(`${AM_BIN} not found: ./test.sh installs prometheus-alertmanager`);
  const dir = makeTempDir('spindle-am-');
  const cfg = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(cfg, [
    'route:',
    '  receiver: hook',
    "  group_by: ['alertname', 'function', 'queue', 'correlation_id']",
    '  group_wait: 100ms',
    '  group_interval: 300ms',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: hook',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(webhookUrl)}`,
    '        send_resolved: true',
    '',
  ].join('\n'));
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = fixedPort || await freePort();
    const proc = spawn(AM_BIN, [
      `--config.file=${cfg}`, `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const err = [];
    proc.stderr.on('data', (c) => err.push(c));
    proc.stdout.on('data', () => {});
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    const am = {
      url,
      proc,
      stderr: () => Buffer.concat(err).toString('utf8'),
      alerts: () => getJson(`${url}/api/v2/alerts?active=true&silenced=false&inhibited=false`),
      async stop() {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      },
    };
    process.once('exit', () => { try { proc.kill('SIGKILL'); } catch (_) { /* gone */ } });
    try {
      await waitUntil(async () => {
        if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${am.stderr().slice(-2000)}`);
        try { return (await fetch(`${url}/-/ready`)).ok; } catch (_) { return false; }
      }, { timeoutMs: 10000, intervalMs: 50, what: 'alertmanager ready' });
      return am;
    } catch (e) {
      lastErr = e;
      await am.stop();
      await sleep(100);
    }
  }
  throw lastErr;
}

module.exports = { startReceiver, startAlertmanager, freePort, alertsYaml };
