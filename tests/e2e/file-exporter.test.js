'use strict';
// 9. The default file exporter: with no OTLP endpoint, OTLP/JSON lines in file.directory.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startAgent } = require('./lib/agent');
const { startSink } = require('./lib/sink');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const otlp = require('./lib/otlp');
const { uid, waitUntil, sleep } = require('./lib/util');
const { HEX16, HEX32 } = require('./lib/find');

/** Parsed lines of a .jsonl file (each must be valid JSON), or [] when it does not exist. */
function readJsonl(file) {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  // Drop what follows the last newline: empty, or a line the agent is still writing.
  const complete = text.split('\n').slice(0, -1);
  return complete.map((l, i) => {
    try { return JSON.parse(l); } catch (err) { throw new Error(`${file}:${i + 1} is not JSON: ${l.slice(0, 200)}`); }
  });
}

describe('file exporter', needBinary, () => {
  const agents = [];
  const sinks = [];
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(sinks.map((s) => s.close()));
  });

  test('no endpoint: traces.jsonl, logs.jsonl, metrics.jsonl with OTLP/JSON requests', { timeout: 20000 }, async () => {
    const a = await startAgent({ config: testConfig(undefined, { file: { directory: './out' } }) });
    agents.push(a);
    const out = path.join(a.dir, 'out');
    const cid = uid('file');
    const T = ids.traceIdFor(cid);
    const c = await connect(a.socketPath);
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'file', function: 'fx' }),
      r.invocationStart(cid, 'i1', { function: 'fx', cold_start: true }),
      r.span(cid, 'file.step', { function: 'fx', invocation_id: 'i1', attributes: { n: 5 } }),
      r.log(cid, `file log ${cid}`, { function: 'fx', invocation_id: 'i1' }),
      r.metric(`file.counter.${cid}`, 'counter', 2, { function: 'fx', correlation_id: cid }),
      r.invocationEnd(cid, 'i1', { function: 'fx' }),
      r.workflowEnd(cid),
    ]);
    assert.equal((await c.flush()).accepted, 7);
    c.destroy();

    const traces = path.join(out, 'traces.jsonl');
    const logs = path.join(out, 'logs.jsonl');
    const metrics = path.join(out, 'metrics.jsonl');
    const spans = await waitUntil(() => {
      const all = readJsonl(traces).flatMap((req) => otlp.flattenSpans(req));
      return all.some((s) => s.span.attributes['spindle.workflow.invocations'] !== undefined) ? all : null;
    }, { timeoutMs: 6000, what: `workflow span in ${traces}` });
    await waitUntil(() => readJsonl(logs).length > 0 && readJsonl(metrics).length > 0, { timeoutMs: 6000, what: 'logs.jsonl and metrics.jsonl' });
    // Each line is one Export*ServiceRequest.
    for (const req of readJsonl(traces)) assert.ok(Array.isArray(req.resourceSpans), 'a trace request per line');
    for (const req of readJsonl(logs)) assert.ok(Array.isArray(req.resourceLogs), 'a logs request per line');
    for (const req of readJsonl(metrics)) assert.ok(Array.isArray(req.resourceMetrics), 'a metrics request per line');

    const wf = spans.find((s) => s.span.spanId === ids.workflowSpanIdFor(cid));
    assert.ok(wf, 'the workflow span with the derived id');
    assert.equal(wf.span.traceId, T, 'ids as lowercase hex');
    const step = spans.find((s) => s.span.name === 'file.step');
    assert.equal(step.span.parentSpanId, ids.invocationSpanIdFor(cid, 'i1'));
    for (const s of spans) {
      assert.match(s.span.traceId, HEX32);
      assert.match(s.span.spanId, HEX16);
    }
    // Raw encoding details: int64 as strings.
    const rawStep = readJsonl(traces).flatMap((q) => q.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))
      .find((sp) => sp.name === 'file.step');
    assert.equal(typeof rawStep.startTimeUnixNano, 'string');
    assert.deepEqual(rawStep.attributes.find((kv) => kv.key === 'n').value, { intValue: '5' });

    const lg = await waitUntil(() => readJsonl(logs).flatMap((q) => otlp.flattenLogs(q)).find((l) => l.log.body === `file log ${cid}`),
      { timeoutMs: 5000, what: 'log line' });
    assert.equal(lg.log.traceId, T);
    assert.equal(lg.log.spanId, ids.invocationSpanIdFor(cid, 'i1'));

    const pt = await waitUntil(() => readJsonl(metrics).flatMap((q) => otlp.flattenMetrics(q)).find((m) => m.metric.name === `file.counter.${cid}`),
      { timeoutMs: 5000, what: 'metric line' });
    assert.equal(pt.type, 'sum');
    assert.equal(otlp.pointValue(pt.point), 2);
    const ex = pt.point.exemplars.find((e) => e.traceId === T);
    if (pt.point.exemplars.length) assert.ok(ex, 'exemplar trace id as hex');
  });

  test('files rotate to traces.1.jsonl… and stay bounded', { timeout: 20000 }, async () => {
    const a = await startAgent({
      config: testConfig(undefined, {
        file: { directory: './rot', max_file_bytes: '4KiB', max_files: 2 },
        export: { batch_max_items: 10 },
      }),
    });
    agents.push(a);
    const dir = path.join(a.dir, 'rot');
    const c = await connect(a.socketPath);
    const cid = uid('rot');
    for (let round = 0; round < 6; round++) {
      const batch = [];
      for (let i = 0; i < 20; i++) batch.push(r.log(cid, `rotation ${round}/${i} ${'p'.repeat(100)}`));
      await c.sendAll(batch);
      await c.flush();
      await sleep(150);
    }
    c.destroy();
    await waitUntil(() => fs.existsSync(path.join(dir, 'logs.1.jsonl')), { timeoutMs: 6000, what: 'logs.1.jsonl' });
    await sleep(300);
    const files = fs.readdirSync(dir).filter((f) => /^logs(\.\d+)?\.jsonl$/.test(f));
    assert.ok(files.includes('logs.jsonl'));
    assert.ok(files.length <= 3, `bounded number of files: ${files}`);
    for (const f of files) readJsonl(path.join(dir, f)); // every line is still valid JSON
  });

  test('with an endpoint and file.enabled absent, no files are written', { timeout: 15000 }, async () => {
    const s = await startSink();
    sinks.push(s);
    const a = await startAgent({ config: testConfig(s.url, { file: { directory: './nofiles' } }) });
    agents.push(a);
    const c = await connect(a.socketPath);
    const body = uid('nofile');
    await c.send(r.log(uid('nf'), body));
    await c.flush();
    c.destroy();
    await s.waitFor((x) => x.logs().some((l) => l.log.body === body), 5000, 'log at the sink');
    await sleep(300);
    assert.equal(fs.existsSync(path.join(a.dir, 'nofiles', 'logs.jsonl')), false);
  });

  test('file.enabled: true with an endpoint writes both', { timeout: 15000 }, async () => {
    const s = await startSink();
    sinks.push(s);
    const a = await startAgent({ config: testConfig(s.url, { file: { enabled: true, directory: './both' } }) });
    agents.push(a);
    const c = await connect(a.socketPath);
    const body = uid('both');
    await c.send(r.log(uid('b'), body));
    await c.flush();
    c.destroy();
    await s.waitFor((x) => x.logs().some((l) => l.log.body === body), 5000, 'log at the sink');
    await waitUntil(() => readJsonl(path.join(a.dir, 'both', 'logs.jsonl')).flatMap((q) => otlp.flattenLogs(q)).some((l) => l.log.body === body),
      { timeoutMs: 5000, what: 'log in the file' });
  });
});
