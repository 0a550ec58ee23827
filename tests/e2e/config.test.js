'use strict';
// 8. Configuration and command line: --check-config, --version, --help, bad flags and files,
//    OTEL_* environment variables and their precedence, request headers, compression, http/json.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid, makeTempDir, sleep } = require('./lib/util');
const { logsWithBody, workflowSpans, HEX16, HEX32 } = require('./lib/find');

const FULL_CONFIG = `# every documented key
log:
  level: info
  format: logfmt
socket:
  path: /tmp/spindle-e2e-unused.sock
  mode: "0660"
  max_record_bytes: 256KiB
  max_connections: 1024
  idle_timeout: 1h
records:
  max_attributes: 128
  max_attribute_value_bytes: 4KiB
  log_correlation_keys: [correlation_id, orderId]
correlation:
  idle_timeout: 60s
  grace_period: 2s
  closed_ttl: 10m
  max_open_workflows: 10000
  max_closed_workflows: 100000
  root_without_start: true
metrics:
  interval: 10s
  max_series: 10000
export:
  batch_max_items: 512
  batch_max_bytes: 1MiB
  batch_delay: 1s
  queue_max_bytes: 64MiB
  shutdown_timeout: 2s
otlp:
  endpoint: "http://127.0.0.1:4318"
  traces_endpoint: ""
  logs_endpoint: ""
  metrics_endpoint: ""
  headers:
    x-api-key: secret
  timeout: 10s
  compression: gzip
  protocol: http/protobuf
  listen: "127.0.0.1:0"
  max_request_bytes: 16MiB
  header_timeout: 10s
  idle_timeout: 60s
  correlation_keys: [correlation_id, app.correlation_id]
file:
  enabled: false
  directory: ./spindle-data
  max_file_bytes: 16MiB
  max_files: 4
service:
  name: checkout
  resource_attributes:
    deployment.environment: test
  state_dir: ""
storage:
  path: ""
  fsync: always
  max_bytes: 64MiB
  segment_bytes: 1MiB
`;

function writeConfig(text, name = 'config.yaml') {
  const dir = makeTempDir();
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return { dir, file };
}

const output = (res) => `${res.stdout}\n${res.stderr}`;

describe('command line', needBinary, () => {
  test('--version prints the version', { timeout: 10000 }, async () => {
    const res = await runSpindle(['--version']);
    assert.equal(res.code, 0, output(res));
    assert.equal(res.stdout.trim(), 'spindle 0.1.0');
  });

  test('--help exits 0 and documents the flags', { timeout: 10000 }, async () => {
    const res = await runSpindle(['--help']);
    assert.equal(res.code, 0, output(res));
    for (const flag of ['--config', '--socket', '--otlp-endpoint', '--check-config', '--stats', '--version']) {
      assert.ok(output(res).includes(flag), `help mentions ${flag}`);
    }
  });

  test('--check-config accepts a file with every documented key', { timeout: 10000 }, async () => {
    const { file } = writeConfig(FULL_CONFIG);
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 0, output(res));
  });

  test('--print-default-config prints a config that --check-config accepts', { timeout: 10000 }, async () => {
    const res = await runSpindle(['--print-default-config']);
    assert.equal(res.code, 0, output(res));
    assert.ok(res.stdout.length > 0);
    const { file } = writeConfig(res.stdout, 'default.yaml');
    const chk = await runSpindle(['--check-config', file]);
    assert.equal(chk.code, 0, output(chk));
  });

  test('a journal too small to hold four segments is refused with the minimum', { timeout: 10000 }, async () => {
    const { file } = writeConfig('storage:\n  max_bytes: 64KiB\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /storage\.max_bytes must be at least 256KiB/);
  });

  test('an unusable journal folder stops start-up with the reason, before the socket is bound', { timeout: 10000 }, async () => {
    const dir = makeTempDir();
    const notDir = path.join(dir, 'a-file');
    fs.writeFileSync(notDir, 'x');
    const sock = path.join(dir, 's.sock');
    const res = await runSpindle(['--socket', sock, '--storage-path', path.join(notDir, 'journal')]);
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /cannot create the journal folder/);
    assert.ok(!fs.existsSync(sock), 'the socket was never bound');
  });

  test('an unknown key exits 1 naming the key and its line', { timeout: 10000 }, async () => {
    const { file } = writeConfig('correlation:\n  grace_period: 2s\n  idel_timeout: 5s\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /config\.yaml:3\b/, 'names the line');
    assert.match(res.stderr, /correlation\.idel_timeout/, 'names the key');
  });

  for (const [label, text, key] of [
    ['a bad duration', 'export:\n  batch_delay: 5 parsecs\n', 'export.batch_delay'],
    ['a bad size', 'socket:\n  max_record_bytes: 12 potatoes\n', 'socket.max_record_bytes'],
    ['a bad log level', 'log:\n  level: loud\n', 'log.level'],
    ['a bad boolean', 'correlation:\n  root_without_start: perhaps\n', 'correlation.root_without_start'],
    ['a bad protocol', 'otlp:\n  protocol: carrier-pigeon\n', 'otlp.protocol'],
    ['a bad fsync policy', 'storage:\n  fsync: sometimes\n', 'storage.fsync'],
    ['a bad journal size', 'storage:\n  max_bytes: lots\n', 'storage.max_bytes'],
  ]) {
    test(`${label} exits 1 naming its key`, { timeout: 10000 }, async () => {
      const { file } = writeConfig(text);
      const res = await runSpindle(['--check-config', file]);
      assert.equal(res.code, 1, output(res));
      assert.ok(res.stderr.includes(key), `stderr names ${key}: ${res.stderr}`);
      assert.match(res.stderr, /config\.yaml:2\b/, 'names the line');
    });
  }

  test('invalid YAML exits 1', { timeout: 10000 }, async () => {
    const { file } = writeConfig('otlp: [unclosed\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, output(res));
    assert.ok(res.stderr.length > 0);
  });

  test('a bad flag exits 1 before creating the socket', { timeout: 10000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 's.sock');
    const res = await runSpindle(['--frobnicate', '--socket', sock], { cwd: dir });
    assert.equal(res.code, 1, output(res));
    assert.ok(res.stderr.includes('frobnicate'), `stderr names the flag: ${res.stderr}`);
    assert.equal(fs.existsSync(sock), false, 'no socket file');
  });

  test('a bad config file exits 1 before creating the socket', { timeout: 10000 }, async () => {
    const { dir, file } = writeConfig('correlation:\n  grace_period: 2s\n  idel_timeout: 5s\n');
    const sock = path.join(dir, 's.sock');
    const res = await runSpindle(['--config', file, '--socket', sock], { cwd: dir });
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /idel_timeout/);
    assert.equal(fs.existsSync(sock), false, 'no socket file');
  });

  test('OTEL_EXPORTER_OTLP_PROTOCOL=grpc is refused', { timeout: 10000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 's.sock');
    const res = await runSpindle(['--socket', sock, '--otlp-endpoint', 'http://127.0.0.1:9'], {
      cwd: dir, env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    });
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /grpc/i);
    assert.equal(fs.existsSync(sock), false, 'no socket file');
  });
});

describe('endpoints, headers and encodings', needBinary, () => {
  const sinks = [];
  const agents = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(sinks.map((s) => s.close()));
  });
  async function sink(opts) { const s = await startSink(opts); sinks.push(s); return s; }
  async function agent(opts) { const a = await startAgent(opts); agents.push(a); return a; }
  async function sendLog(a, body, extra = {}) {
    const c = await connect(a.socketPath);
    await c.send(r.log(uid('cfg'), body, { function: 'cfg', ...extra }));
    const ack = await c.flush();
    assert.equal(ack.accepted, 1);
    c.destroy();
  }

  test('OTEL_EXPORTER_OTLP_ENDPOINT is used when no flag or file sets one; default request headers', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(undefined), env: { OTEL_EXPORTER_OTLP_ENDPOINT: s.url } });
    const body = uid('env-endpoint');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log via env endpoint');
    const req = l.request;
    assert.equal(req.path, '/v1/logs');
    assert.equal(req.method, 'POST');
    assert.equal(req.headers['user-agent'], 'spindle/0.1.0');
    assert.equal(req.headers['content-encoding'], 'gzip', 'gzip by default');
    assert.equal(req.contentType, 'application/x-protobuf');
    assert.equal(s.errors().length, 0, 'every request decoded');
  });

  test('--otlp-endpoint beats OTEL_EXPORTER_OTLP_ENDPOINT', { timeout: 15000 }, async () => {
    const [good, bad] = [await sink(), await sink()];
    const a = await agent({ config: testConfig(undefined), args: ['--otlp-endpoint', good.url], env: { OTEL_EXPORTER_OTLP_ENDPOINT: bad.url } });
    const body = uid('flag-endpoint');
    await sendLog(a, body);
    await good.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log via flag endpoint');
    await sleep(500);
    assert.equal(bad.requests.length, 0, 'nothing sent to the env endpoint');
  });

  test('OTEL_EXPORTER_OTLP_ENDPOINT beats the file', { timeout: 15000 }, async () => {
    const [good, bad] = [await sink(), await sink()];
    const a = await agent({ config: testConfig(bad.url), env: { OTEL_EXPORTER_OTLP_ENDPOINT: good.url } });
    const body = uid('env-over-file');
    await sendLog(a, body);
    await good.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log via env endpoint');
    await sleep(500);
    assert.equal(bad.requests.length, 0, 'nothing sent to the file endpoint');
  });

  test('per-signal endpoints are used as-is; the base gets /v1/<signal>', { timeout: 15000 }, async () => {
    const s = await sink({ routes: { '/custom/spans-in': 'traces' } });
    const a = await agent({
      config: testConfig(undefined),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${s.url}/base`, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${s.url}/custom/spans-in` },
    });
    const cid = uid('per-signal');
    const c = await connect(a.socketPath);
    await c.sendAll([r.span(cid, `span ${cid}`, { function: 'cfg' }), r.log(cid, `log ${cid}`, { function: 'cfg' })]);
    await c.flush();
    c.destroy();
    const sp = await s.waitFor((x) => x.spans().find((y) => y.span.name === `span ${cid}`), 5000, 'span at the custom path');
    assert.equal(sp.request.path, '/custom/spans-in');
    const l = await s.waitFor((x) => logsWithBody(x, `log ${cid}`)[0], 5000, 'log at the base path');
    assert.equal(l.request.path, '/base/v1/logs');
  });

  test('a per-signal endpoint in the file is used as-is', { timeout: 15000 }, async () => {
    const s = await sink({ routes: { '/file/logs-here': 'logs' } });
    const a = await agent({ config: testConfig(s.url, { otlp: { logs_endpoint: `${s.url}/file/logs-here` } }) });
    const body = uid('file-per-signal');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log at the file per-signal path');
    assert.equal(l.request.path, '/file/logs-here');
  });

  test('OTEL_EXPORTER_OTLP_HEADERS arrive at the sink', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(s.url), env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret,x-tenant=t1' } });
    const body = uid('headers');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log');
    assert.equal(l.request.headers['x-api-key'], 'secret');
    assert.equal(l.request.headers['x-tenant'], 't1');
  });

  test('otlp.headers from the file arrive at the sink', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(s.url, { otlp: { headers: { 'x-from-file': 'yes' } } }) });
    const body = uid('file-headers');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log');
    assert.equal(l.request.headers['x-from-file'], 'yes');
  });

  test('OTEL_EXPORTER_OTLP_COMPRESSION=none sends plain bodies', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(s.url), env: { OTEL_EXPORTER_OTLP_COMPRESSION: 'none' } });
    const body = uid('plain');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log');
    assert.ok(['', 'identity'].includes(l.request.contentEncoding), `no gzip: ${l.request.contentEncoding}`);
  });

  test('http/json produces OTLP/JSON bodies with hex ids and int64 as strings', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(s.url), env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
    const cid = uid('json');
    const c = await connect(a.socketPath);
    await c.sendAll([
      r.workflowStart(cid, { function: 'cfg' }),
      r.invocationStart(cid, 'i1', { function: 'cfg' }),
      r.log(cid, `json log ${cid}`, { function: 'cfg', invocation_id: 'i1', attributes: { n: 7 } }),
      r.invocationEnd(cid, 'i1', { function: 'cfg' }),
      r.workflowEnd(cid),
    ]);
    await c.flush();
    c.destroy();
    const wf = await s.waitFor((x) => workflowSpans(x, cid)[0], 5000, 'workflow span over http/json');
    const req = wf.request;
    assert.equal(req.format, 'json');
    assert.equal(req.contentType, 'application/json');
    assert.equal(req.headers['user-agent'], 'spindle/0.1.0');
    assert.equal(wf.span.traceId, ids.traceIdFor(cid));
    assert.equal(wf.span.spanId, ids.workflowSpanIdFor(cid));
    // Look at the raw JSON (before any normalisation of ours).
    const raw = req.body.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
      .find((sp) => sp.spanId === ids.workflowSpanIdFor(cid));
    assert.match(raw.traceId, HEX32);
    assert.match(raw.spanId, HEX16);
    assert.equal(typeof raw.startTimeUnixNano, 'string', 'fixed64 as a decimal string');
    assert.equal(typeof raw.kind, 'number', 'enums as integers');
    const inv = raw.attributes.find((kv) => kv.key === 'spindle.workflow.invocations');
    assert.deepEqual(inv.value, { intValue: '1' }, 'int64 as a decimal string');
    const l = await s.waitFor((x) => logsWithBody(x, `json log ${cid}`)[0], 5000, 'log over http/json');
    assert.equal(l.request.format, 'json');
    assert.equal(l.log.traceId, ids.traceIdFor(cid));
    assert.equal(l.log.spanId, ids.invocationSpanIdFor(cid, 'i1'));
    assert.equal(l.log.attributes.n, 7n);
  });

  test('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES shape the resource', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({
      config: testConfig(s.url),
      env: { OTEL_SERVICE_NAME: 'svc-from-env', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e,team=core' },
    });
    const c = await connect(a.socketPath);
    const cid = uid('res');
    await c.sendAll([r.log(cid, `no function ${cid}`), r.log(cid, `with function ${cid}`, { function: 'fn' })]);
    await c.flush();
    c.destroy();
    const l1 = await s.waitFor((x) => logsWithBody(x, `no function ${cid}`)[0], 5000, 'log without function');
    assert.equal(l1.resource['service.name'], 'svc-from-env');
    assert.equal(l1.resource['deployment.environment'], 'e2e');
    assert.equal(l1.resource.team, 'core');
    const l2 = await s.waitFor((x) => logsWithBody(x, `with function ${cid}`)[0], 5000, 'log with function');
    assert.equal(l2.resource['service.name'], 'fn', 'the record\'s function wins');
    assert.equal(l2.resource['faas.name'], 'fn');
    assert.equal(l2.resource.team, 'core');
  });

  test('log.format json writes JSON lines to stderr, rejections with pid and reason', { timeout: 15000 }, async () => {
    const s = await sink();
    const a = await agent({ config: testConfig(s.url, { log: { format: 'json', level: 'info' } }) });
    const c = await connect(a.socketPath);
    await c.send('definitely not json\n');
    const ack = await c.flush();
    assert.equal(ack.first_error, 'malformed_json');
    c.destroy();
    await a.waitForStderr(/malformed_json/, 3000);
    const lines = a.stderr().split('\n').filter((x) => x.trim());
    const parsed = lines.map((x) => { try { return JSON.parse(x); } catch (_) { return assert.fail(`stderr line is not JSON: ${x}`); } });
    const rej = parsed.find((o) => o.reason === 'malformed_json');
    assert.ok(rej, 'a JSON log line with reason malformed_json');
    assert.equal(String(rej.pid), String(process.pid));
  });
});

// Issue 9, items 10, 18 and 19: secrets stay out of logs and messages, headers go out as
// written once, and every bad value is refused where it was written.
describe('secrets, headers and where an error points', needBinary, () => {
  const sinks = [];
  const agents = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(sinks.map((s) => s.close()));
  });
  async function sink(opts) { const s = await startSink(opts); sinks.push(s); return s; }
  async function agent(opts) { const a = await startAgent(opts); agents.push(a); return a; }
  async function sendLog(a, body) {
    const c = await connect(a.socketPath);
    await c.send(r.log(uid('sec'), body, { function: 'sec' }));
    const ack = await c.flush();
    assert.equal(ack.accepted, 1);
    c.destroy();
  }
  const PASSWORD = 'pl4nted-Passw0rd';
  const API_KEY = 'pl4nted-ApiKey';

  test('the OTLP endpoint is logged as scheme://host:port; /v1/<signal> goes before the query string', { timeout: 20000 }, async () => {
    const s = await sink();
    const endpoint = s.url.replace('http://', `http://user:${PASSWORD}@`) + `/?api_key=${API_KEY}`;
    const a = await agent({ config: testConfig(undefined), env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
    const ready = await a.waitForStderr(/spindle ready/, 5000);
    assert.ok(ready.includes(`otlp="${s.url}"`), `the ready line shows scheme://host:port: ${ready}`);
    const body = uid('query');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log at /v1/logs with the query kept');
    assert.equal(l.request.path, `/v1/logs?api_key=${API_KEY}`);
    await a.stop();
    assert.ok(!a.stderr().includes(PASSWORD), 'the password never appears in the log');
    assert.ok(!a.stderr().includes(API_KEY), 'the query string never appears in the log');
  });

  test('a header set in the file and in OTEL_EXPORTER_OTLP_HEADERS in another case is sent once, the variable\'s', { timeout: 20000 }, async () => {
    const s = await sink();
    const a = await agent({
      config: testConfig(s.url, { otlp: { headers: { authorization: 'Bearer from-file', 'X-Tenant': 'file' } } }),
      env: { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer from-env,x-tenant=env' },
    });
    const body = uid('dedupe');
    await sendLog(a, body);
    const l = await s.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log');
    const raw = l.request.rawHeaders;
    const values = (name) => raw.filter((_, i) => i % 2 === 1 && raw[i - 1].toLowerCase() === name);
    assert.deepEqual(values('authorization'), ['Bearer from-env']);
    assert.deepEqual(values('x-tenant'), ['env']);
  });

  for (const [label, headers, line, why] of [
    ['a line break in a header value', '    x-a: "v\\r\\nX-Injected: 1"\n', 3, /has a line break/],
    ['a header name that is not an HTTP token', '    "x injected": v\n', 3, /is not a valid header name/],
  ]) {
    test(`--check-config refuses ${label} with FILE:LINE`, { timeout: 10000 }, async () => {
      const { file } = writeConfig(`otlp:\n  headers:\n${headers}`);
      const res = await runSpindle(['--check-config', file]);
      assert.equal(res.code, 1, output(res));
      assert.match(res.stderr, new RegExp(`config\\.yaml:${line}: otlp\\.headers: `));
      assert.match(res.stderr, why);
    });
  }

  test('a line break in OTEL_EXPORTER_OTLP_HEADERS is refused before anything is sent', { timeout: 10000 }, async () => {
    const s = await sink();
    const dir = makeTempDir();
    const sock = path.join(dir, 's.sock');
    const res = await runSpindle(['--socket', sock, '--otlp-endpoint', s.url], {
      cwd: dir, env: { OTEL_EXPORTER_OTLP_HEADERS: 'x-a=v%0D%0AX-Injected: 1' },
    });
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /OTEL_EXPORTER_OTLP_HEADERS: header 'x-a' has a line break/);
    assert.equal(fs.existsSync(sock), false, 'no socket file');
    assert.equal(s.requests.length, 0);
  });

  test('an Alertmanager URL without a scheme is refused at its line, credentials not echoed', { timeout: 10000 }, async () => {
    const { file } = writeConfig(`alerts:\n  alertmanager:\n    urls:\n      - http://am-1:9093\n      - admin:${PASSWORD}@am-2:9093/?token=${API_KEY}\n`);
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /config\.yaml:5: alerts\.alertmanager\.urls: 'am-2:9093' must start with http:\/\/ or https:\/\//);
    assert.ok(!output(res).includes(PASSWORD) && !output(res).includes(API_KEY), output(res));
    const flag = await runSpindle(['--alertmanager', `admin:${PASSWORD}@am-2:9093`, '--socket', path.join(makeTempDir(), 's.sock')]);
    assert.equal(flag.code, 1, output(flag));
    assert.match(flag.stderr, /--alertmanager 'am-2:9093' must start with http/);
    assert.ok(!output(flag).includes(PASSWORD), output(flag));
  });

  test('a flow-style bad URL in the file names FILE:LINE', { timeout: 10000 }, async () => {
    const { file } = writeConfig('log:\n  level: info\nalerts:\n  alertmanager:\n    urls: [notaurl]\n');
    const res = await runSpindle(['--check-config', file]);
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /config\.yaml:5: alerts\.alertmanager\.urls: 'notaurl'/);
  });

  test('an invalid OTEL_EXPORTER_OTLP_ENDPOINT names the variable, without its password', { timeout: 10000 }, async () => {
    const dir = makeTempDir();
    const res = await runSpindle(['--socket', path.join(dir, 's.sock')], {
      cwd: dir, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `u:${PASSWORD}@collector:4318` },
    });
    assert.equal(res.code, 1, output(res));
    assert.match(res.stderr, /OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' must start with http:\/\/ or https:\/\//);
    assert.ok(!output(res).includes(PASSWORD), output(res));
  });

  test('-h prints the help and exits 0', { timeout: 10000 }, async () => {
    const res = await runSpindle(['-h']);
    assert.equal(res.code, 0, output(res));
    assert.match(res.stdout, /^usage: spindle/);
    assert.equal(res.stderr, '');
  });

  for (const [text, msg] of [
    ['export:\n  batch_max_bytes: 0\n', /config\.yaml:2: export\.batch_max_bytes must be at least 1KiB/],
    ['records:\n  max_attributes: 0\n', /config\.yaml:2: records\.max_attributes must be at least 1\b/],
    ['alerts:\n  notify_max_attempts: 0\n', /config\.yaml:2: alerts\.notify_max_attempts must be at least 1\b/],
    ['socket:\n  idle_timeout: 0s\n', /config\.yaml:2: socket\.idle_timeout must be at least 10ms/],
    ['records:\n  max_attributes: 1000\n', /config\.yaml:2: records\.max_attributes must be at most 512/],
    ['records:\n  log_correlation_keys: []\n', /config\.yaml:2: records\.log_correlation_keys: give at least one key/],
    ['records:\n  log_correlation_keys: [orderId, ""]\n', /config\.yaml:2: records\.log_correlation_keys: a key must be a non-empty name/],
    ['records:\n  log_correlation_keys: [a, b, c, d, e, f, g, h, i]\n', /config\.yaml:2: 'records\.log_correlation_keys' takes at most 8 items/],
    ['lambda:\n  trigger: cron\n', /config\.yaml:2: lambda\.trigger 'cron' must be http, pubsub, datasource, timer, other or ""/],
  ]) {
    test(`--check-config refuses ${text.trim().replace(/\n\s*/, '.')} naming the key and line`, { timeout: 10000 }, async () => {
      const { file } = writeConfig(text);
      const res = await runSpindle(['--check-config', file]);
      assert.equal(res.code, 1, output(res));
      assert.match(res.stderr, msg);
    });
  }
});

describe('./run.sh', needBinary, () => {
  const RUN_SH = path.resolve(__dirname, '../../run.sh');
  const { spawn } = require('node:child_process');
  const { agentEnv, tryConnect } = require('./lib/agent');
  function runSh(args, cwd) {
    const proc = spawn('bash', [RUN_SH, ...args], { cwd, env: agentEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (c) => { err += c; });
    const exited = new Promise((resolve) => proc.once('close', (code) => resolve(code)));
    return { proc, stderr: () => err, exited };
  }

  test('says "listening" only once its agent answers, and not when another agent holds the socket', { timeout: 180000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 's.sock');
    // Its own agent: the hint comes, and the socket answers by then.
    const first = runSh(['--socket', sock, '--log-level', 'warn'], dir);
    try {
      const deadline = Date.now() + 150000; // the set-up step may build
      while (!first.stderr().includes('spindle: listening on') && Date.now() < deadline) await sleep(20);
      assert.ok(first.stderr().includes(`spindle: listening on ${sock}`), first.stderr());
      assert.ok(await tryConnect(sock), 'the socket answers when the hint is printed');
      // A second one on the same socket: exits 1, and never claims to listen.
      const second = runSh(['--socket', sock, '--log-level', 'warn'], dir);
      const code = await withTimeoutOr(second.exited, 60000);
      assert.equal(code, 1, second.stderr());
      assert.match(second.stderr(), /another agent is listening/);
      assert.ok(!second.stderr().includes('spindle: listening on'), second.stderr());
    } finally {
      first.proc.kill('SIGTERM');
      await withTimeoutOr(first.exited, 10000);
    }
  });

  async function withTimeoutOr(p, ms) {
    return Promise.race([p, sleep(ms).then(() => 'timeout')]);
  }
});
