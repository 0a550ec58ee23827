'use strict';
// 5. The acceptance table: every rejection reason, the accepted-with cases, incomplete records,
//    idle connections; bad input never disturbs the connection or another client.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { connect } = require('./lib/client');
const { uid, nowSec, sleep, waitUntil } = require('./lib/util');
const { delta, logsWithBody, spansNamed, logsOfTrace, userAttributes } = require('./lib/find');

const C = uid('acc');
const now = nowSec();
const good = (extra = {}) => ({ type: 'log', correlation_id: C, body: 'x', ...extra });
const goodSpan = (extra = {}) => ({ type: 'span', correlation_id: C, name: 's', start: now - 1, end: now, ...extra });
const goodEvent = (name, extra = {}) => ({ type: 'event', correlation_id: C, name, ...extra });
const goodMetric = (extra = {}) => ({ type: 'metric', name: 'm', kind: 'counter', value: 1, ...extra });

const utf8Bad = (bytes) => Buffer.concat([
  Buffer.from(`{"type":"log","correlation_id":"${C}","body":"a`), Buffer.from(bytes), Buffer.from('b"}\n'),
]);

// [label, payload, reason]
const REJECTED = [
  ['not JSON', 'not json at all', 'malformed_json'],
  ['an array', '[1,2,3]', 'malformed_json'],
  ['a string', '"a string"', 'malformed_json'],
  ['a number', '42', 'malformed_json'],
  ['null', 'null', 'malformed_json'],
  ['truncated object', `{"type":"log","correlation_id":"${C}","body":"x"`, 'malformed_json'],
  ['trailing garbage', `{"type":"log","correlation_id":"${C}","body":"x"} trailing`, 'malformed_json'],
  ['single quotes', "{'type':'log'}", 'malformed_json'],

  ['no type', {}, 'missing_field'],
  ['log without correlation_id', { type: 'log', body: 'x' }, 'missing_field'],
  ['log without body', { type: 'log', correlation_id: C }, 'missing_field'],
  ['span without name', { type: 'span', correlation_id: C, start: now - 1, end: now }, 'missing_field'],
  ['span without start', { type: 'span', correlation_id: C, name: 's', end: now }, 'missing_field'],
  ['span without end or duration_ms', { type: 'span', correlation_id: C, name: 's', start: now }, 'missing_field'],
  ['span without correlation_id', { type: 'span', name: 's', start: now - 1, end: now }, 'missing_field'],
  ['metric without kind', { type: 'metric', name: 'm', value: 1 }, 'missing_field'],
  ['metric without name', { type: 'metric', kind: 'counter', value: 1 }, 'missing_field'],
  ['metric without value', { type: 'metric', name: 'm', kind: 'gauge' }, 'missing_field'],
  ['event without name', { type: 'event', correlation_id: C }, 'missing_field'],
  ['event without correlation_id', { type: 'event', name: 'workflow_start' }, 'missing_field'],
  ['invocation_start without invocation_id', goodEvent('invocation_start'), 'missing_field'],
  ['invocation_end without invocation_id', goodEvent('invocation_end', { status: 'ok' }), 'missing_field'],
  ['dead_letter without queue', goodEvent('dead_letter'), 'missing_field'],

  ['correlation_id a number', good({ correlation_id: 42 }), 'bad_type'],
  ['attributes a string', good({ attributes: 'k=v' }), 'bad_type'],
  ['attributes an array', good({ attributes: [1, 2] }), 'bad_type'],
  ['span name a number', goodSpan({ name: 5 }), 'bad_type'],
  ['span start a bool', goodSpan({ start: true }), 'bad_type'],
  ['ts an object', good({ ts: {} }), 'bad_type'],
  ['metric value a string', goodMetric({ value: '3' }), 'bad_type'],
  ['function a number', good({ function: 7 }), 'bad_type'],
  ['invocation_id an object', good({ invocation_id: {} }), 'bad_type'],
  ['span_id a number', goodSpan({ span_id: 123 }), 'bad_type'],
  ['cold_start a string', goodEvent('invocation_start', { invocation_id: 'i', cold_start: 'yes' }), 'bad_type'],

  ['ts in milliseconds', good({ ts: Date.now() }), 'bad_value'],
  ['ts exactly 1e11', good({ ts: 1e11 }), 'bad_value'],
  ['ts a bad RFC 3339 date', good({ ts: '2024-13-45T00:00:00Z' }), 'bad_value'],
  ['ts a word', good({ ts: 'yesterday' }), 'bad_value'],
  ['span start in milliseconds', goodSpan({ start: Date.now() - 5, end: now }), 'bad_value'],
  ['span end before start', goodSpan({ start: now, end: now - 1 }), 'bad_value'],
  ['span_id not hex', goodSpan({ span_id: 'xyzxyzxyzxyzxyzx' }), 'bad_value'],
  ['span_id 15 digits', goodSpan({ span_id: '0123456789abcde' }), 'bad_value'],
  ['parent_span_id not hex', goodSpan({ parent_span_id: 'g123456789abcdef' }), 'bad_value'],
  ['log span_id not hex', good({ span_id: 'nothex!!nothex!!' }), 'bad_value'],
  ['severity unknown word', good({ severity: 'loud' }), 'bad_value'],
  ['severity 25', good({ severity: 25 }), 'bad_value'],
  ['severity 0', good({ severity: 0 }), 'bad_value'],
  ['span kind unknown', goodSpan({ kind: 'weird' }), 'bad_value'],
  ['span status unknown', goodSpan({ status: 'meh' }), 'bad_value'],
  // start near 2^64 ns: the end would wrap around to 2001, before its start
  ['span ending past the end of time', goodSpan({ start: 18446744000, end: undefined, duration_ms: 1e12 }), 'bad_value'],
  ['metric kind unknown', goodMetric({ kind: 'summary' }), 'bad_value'],
  ['negative counter increment', goodMetric({ value: -1 }), 'bad_value'],
  ['invocation_end status unknown', goodEvent('invocation_end', { invocation_id: 'i', status: 'crashed' }), 'bad_value'],
  ['trigger unknown', goodEvent('invocation_start', { invocation_id: 'i', trigger: 'smoke' }), 'bad_value'],
  ['attempt 0', goodEvent('invocation_start', { invocation_id: 'i', attempt: 0 }), 'bad_value'],
  ['attempt 1.5', goodEvent('invocation_start', { invocation_id: 'i', attempt: 1.5 }), 'bad_value'],
  ['retry attempt 1', goodEvent('retry', { attempt: 1 }), 'bad_value'],
  ['empty correlation_id', good({ correlation_id: '' }), 'bad_value'],
  ['correlation_id of 257 bytes', good({ correlation_id: 'c'.repeat(257) }), 'bad_value'],

  ['type trace', { type: 'trace', correlation_id: C }, 'unknown_type'],
  ['type Span (case-sensitive)', goodSpan({ type: 'Span' }), 'unknown_type'],

  ['v 2', good({ v: 2 }), 'unsupported_version'],
  ['v 0', good({ v: 0 }), 'unsupported_version'],

  ['byte 0xff', utf8Bad([0xff, 0xfe]), 'bad_utf8'],
  ['overlong encoding', utf8Bad([0xc0, 0xaf]), 'bad_utf8'],
  ['UTF-16 surrogate encoded', utf8Bad([0xed, 0xa0, 0x80]), 'bad_utf8'],
  ['truncated sequence', utf8Bad([0xe2, 0x82]), 'bad_utf8'],
  ['invalid byte in a key', Buffer.concat([Buffer.from('{"type":"log","correlation_id":"c","body":"x","k'), Buffer.from([0xff]), Buffer.from('":1}\n')]), 'bad_utf8'],
];

function framed(payload) {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return payload.endsWith('\n') ? payload : `${payload}\n`;
  return `${JSON.stringify(payload)}\n`;
}

describe('acceptance table', needBinary, () => {
  let h;
  let c; // the misbehaving client
  let other; // a well-behaved client on another connection
  let ctl; // stats only
  const otherBodies = [];
  const sameConnBodies = [];

  before(async () => {
    h = await setup({
      config: {
        socket: { max_record_bytes: '1KiB' },
        records: { max_attributes: 4, max_attribute_value_bytes: 64 },
      },
    });
    c = await h.connect();
    other = await h.connect();
    ctl = await h.connect();
  });
  after(async () => { if (h) await h.close(); });

  async function otherClientSends(label) {
    const body = `other client after ${label} ${uid('b')}`;
    otherBodies.push(body);
    await other.send(r.log(C, body));
  }

  for (const [label, payload, reason] of REJECTED) {
    test(`${reason}: ${label}`, { timeout: 5000 }, async () => {
      const before = await ctl.stats();
      const body = `same connection after ${label} ${uid('b')}`;
      sameConnBodies.push(body);
      await c.send(Buffer.concat([Buffer.from(framed(payload)), Buffer.from(framed(r.log(C, body)))]));
      const ack = await c.flush();
      assert.deepEqual(ack, { ack: ack.ack, accepted: 1, rejected: 1, first_error: reason });
      await otherClientSends(label);
      const after = await ctl.stats();
      assert.equal(delta(before, after, `rejected.${reason}`), 1, `rejected.${reason}`);
      assert.equal(delta(before, after, 'records.rejected'), 1);
      assert.equal(delta(before, after, 'records.accepted'), 2);
    });
  }

  test('too_large: discarded up to the newline, the connection stays usable', { timeout: 10000 }, async () => {
    const before = await ctl.stats();
    const body = `after too_large ${uid('b')}`;
    sameConnBodies.push(body);
    await c.send(r.log(C, 'x'.repeat(2000)));
    await c.send(r.log(C, body));
    let ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 1, rejected: 1, first_error: 'too_large' });

    // A 300 KiB record arriving in pieces, followed by a good record in the same write.
    const big = framed(r.log(C, 'y'.repeat(300 * 1024)));
    const body2 = `after huge ${uid('b')}`;
    sameConnBodies.push(body2);
    for (let i = 0; i < big.length - 1; i += 64 * 1024) await c.send(big.slice(i, Math.min(i + 64 * 1024, big.length - 1)));
    await c.send(`\n${framed(r.log(C, body2))}`);
    ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 1, rejected: 1, first_error: 'too_large' });
    await otherClientSends('too_large');
    const after = await ctl.stats();
    assert.equal(delta(before, after, 'rejected.too_large'), 2);
    assert.equal(h.agent.proc.exitCode, null, 'the agent is still running');
  });

  test('bad_traceparent: accepted, field ignored, counted', { timeout: 10000 }, async () => {
    const before = await ctl.stats();
    const bads = [
      { traceparent: 'garbage' },
      { traceparent: `00-${'0'.repeat(32)}-${ids.randomHex(8)}-01` },
      { traceparent: `00-${ids.randomHex(16)}-${'0'.repeat(16)}-01` },
      { traceparent: `ff-${ids.randomHex(16)}-${ids.randomHex(8)}-01` },
      { traceparent: `00-${ids.randomHex(15)}-${ids.randomHex(8)}-01` },
      { xray_trace_id: 'Root=nonsense;Sampled=1' },
    ];
    const cids = [];
    for (const b of bads) {
      const cid = uid('badtp');
      cids.push(cid);
      await c.send(r.log(cid, `bad tp ${cid}`, b));
    }
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: bads.length, rejected: 0, first_error: null });
    const after = await ctl.stats();
    assert.equal(delta(before, after, 'accepted_with.bad_traceparent'), bads.length);
    assert.equal(delta(before, after, 'records.accepted'), bads.length);
    // The field is ignored: the trace id is the derived one.
    for (const cid of cids) {
      const l = await h.sink.waitFor((s) => logsWithBody(s, `bad tp ${cid}`)[0], 5000, `log ${cid}`);
      assert.equal(l.log.traceId, ids.traceIdFor(cid));
    }
  });

  test('excess attributes are dropped and reported in droppedAttributesCount', { timeout: 10000 }, async () => {
    const before = await ctl.stats();
    const name = uid('many-attrs');
    await c.send(goodSpan({ name, attributes: { a1: 1, a2: 2, a3: 3, a4: 4, a5: 5, a6: 6 } }));
    const lname = uid('long-value');
    await c.send(goodSpan({ name: lname, attributes: { ok: 'short', long: 'z'.repeat(100) } }));
    const body = uid('log-many-attrs');
    await c.send(r.log(C, body, { attributes: { b1: 1, b2: 2, b3: 3, b4: 4, b5: 5 } }));
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 3, rejected: 0, first_error: null });
    const after = await ctl.stats();
    assert.ok(delta(before, after, 'accepted_with.attributes_dropped') > 0, 'attributes_dropped counted');

    const s = await h.sink.waitFor((x) => spansNamed(x, name)[0], 5000, 'span with many attributes');
    const userKeys = Object.keys(userAttributes(s.span.attributes));
    assert.ok(userKeys.length <= 4, `at most 4 record attributes: ${userKeys}`);
    assert.ok(userKeys.every((k) => /^a\d$/.test(k)), `only record attributes: ${userKeys}`);
    assert.ok(s.span.droppedAttributesCount >= 2, `droppedAttributesCount ${s.span.droppedAttributesCount}`);
    assert.equal(userKeys.length + s.span.droppedAttributesCount, 6, 'every record attribute is kept or counted as dropped');

    const lv = await h.sink.waitFor((x) => spansNamed(x, lname)[0], 5000, 'span with a long value');
    assert.equal(lv.span.attributes.ok, 'short');
    if (lv.span.attributes.long === undefined) {
      assert.ok(lv.span.droppedAttributesCount >= 1, 'a dropped long value is reported');
    } else {
      assert.ok(Buffer.byteLength(lv.span.attributes.long) <= 64, 'a kept long value is cut to the limit');
    }

    const l = await h.sink.waitFor((x) => logsWithBody(x, body)[0], 5000, 'log with many attributes');
    const logKeys = Object.keys(userAttributes(l.log.attributes));
    assert.ok(logKeys.length <= 4, `at most 4 record attributes: ${logKeys}`);
    assert.equal(l.log.droppedAttributesCount + logKeys.length, 5);
  });

  test('unknown fields are ignored', { timeout: 10000 }, async () => {
    const name = uid('unknown-fields');
    await c.send(goodSpan({ name, colour: 'blue', extra: { x: 1 }, attributes: { kept: true } }));
    const ack = await c.flush();
    assert.deepEqual(ack, { ack: ack.ack, accepted: 1, rejected: 0, first_error: null });
    const s = await h.sink.waitFor((x) => spansNamed(x, name)[0], 5000, 'span with unknown fields');
    assert.equal(s.span.attributes.kept, true);
    assert.equal(s.span.attributes.colour, undefined);
    assert.equal(s.span.attributes.extra, undefined);
    assert.equal(s.span.attributes['extra.x'], undefined);
  });

  test('correlationId alias; correlation_id wins when both are present', { timeout: 10000 }, async () => {
    const a = uid('alias');
    const b = uid('both');
    await c.send({ type: 'log', correlationId: a, body: `alias ${a}` });
    await c.send({ type: 'log', correlationId: uid('loser'), correlation_id: b, body: `both ${b}` });
    const ack = await c.flush();
    assert.equal(ack.accepted, 2);
    const la = await h.sink.waitFor((x) => logsWithBody(x, `alias ${a}`)[0], 5000, 'alias log');
    assert.equal(la.log.traceId, ids.traceIdFor(a));
    const lb = await h.sink.waitFor((x) => logsWithBody(x, `both ${b}`)[0], 5000, 'both log');
    assert.equal(lb.log.traceId, ids.traceIdFor(b));
  });

  test('a client disconnecting mid-record is counted incomplete', { timeout: 10000 }, async () => {
    const before = await ctl.stats();
    const d = await connect(h.agent.socketPath);
    await d.send(`{"type":"log","correlation_id":"${C}","body":"partial`);
    await d.close();
    const after = await waitUntil(async () => {
      const st = await ctl.stats();
      return delta(before, st, 'rejected.incomplete') >= 1 ? st : null;
    }, { timeoutMs: 3000, what: 'rejected.incomplete to grow' });
    assert.equal(delta(before, after, 'rejected.incomplete'), 1);
    assert.equal(delta(before, after, 'rejected.malformed_json'), 0);

    // A clean close after complete records is not incomplete.
    const e = await connect(h.agent.socketPath);
    await e.send(r.log(C, 'complete'));
    await e.flush();
    await e.close();
    await sleep(200);
    const after2 = await ctl.stats();
    assert.equal(delta(after, after2, 'rejected.incomplete'), 0);
    await otherClientSends('incomplete');
  });

  test('rejections are logged with the peer pid and the reason', { timeout: 5000 }, async () => {
    const line = await h.agent.waitForStderr(new RegExp(`(?=.*reason=malformed_json)(?=.*pid=${process.pid}\\b)`), 3000);
    assert.ok(line);
  });

  test('every good record on both connections arrived, and the agent is alive', { timeout: 10000 }, async () => {
    await other.flush();
    const all = [...otherBodies, ...sameConnBodies];
    await h.sink.waitFor((s) => all.every((b) => logsWithBody(s, b).length > 0), 5000, `${all.length} good logs`);
    for (const b of all) assert.equal(logsWithBody(h.sink, b).length, 1, `log "${b}" exported once`);
    assert.equal(logsOfTrace(h.sink, ids.traceIdFor(C)).filter((l) => l.log.body === 'x').length, 0,
      'no rejected record was exported');
    assert.equal(h.agent.proc.exitCode, null);
    assert.equal(c.isClosed(), false, 'bad input never closes the connection');
  });
});

describe('idle connections', needBinary, () => {
  let h;
  before(async () => { h = await setup({ config: { socket: { idle_timeout: '1s' } } }); });
  after(async () => { if (h) await h.close(); });

  test('a client idle past socket.idle_timeout is closed, counted and logged', { timeout: 15000 }, async () => {
    const cid = uid('idle');
    const busy = await h.connect();
    const before = await busy.stats();
    const idle = await h.connect();
    await idle.send(r.log(cid, 'idle client said one thing'));
    await idle.flush();
    const t0 = Date.now();
    let closedAt = 0;
    idle.closed.then(() => { closedAt = Date.now(); });
    // Keep the other connection busy meanwhile.
    let i = 0;
    while (!closedAt && Date.now() - t0 < 4000) {
      await busy.send(r.log(cid, `busy ${i}`));
      await busy.flush();
      i += 1;
      await sleep(250);
    }
    assert.ok(closedAt, 'the idle connection was closed within 4 s');
    const idleFor = closedAt - t0;
    assert.ok(idleFor >= 900, `not closed before the timeout (after ${idleFor} ms)`);
    assert.equal(busy.isClosed(), false, 'the busy connection stays open');
    const after = await busy.stats();
    assert.equal(delta(before, after, 'connections.closed_idle'), 1);
    await h.agent.waitForStderr(new RegExp(`(?=.*idle)(?=.*pid=${process.pid}\\b)`), 3000);
    // The busy client's records all arrive; a new connection works.
    const bodies = Array.from({ length: i }, (_, k) => `busy ${k}`);
    await h.sink.waitFor((s) => bodies.every((b) => logsWithBody(s, b).some((l) => l.log.traceId === ids.traceIdFor(cid))), 5000, 'busy logs');
    const fresh = await h.connect();
    const ack = await fresh.flush();
    assert.equal(ack.accepted, 0);
  });
});
