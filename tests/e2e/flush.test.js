'use strict';
// 4. Flush acks: per-connection counts since the previous flush, the first error, sent only
//    after every earlier record; control records are not counted.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const ids = require('./lib/ids');
const { uid, makeTempDir, withTimeout } = require('./lib/util');
const { logsOfTrace, delta } = require('./lib/find');

describe('flush acks', needBinary, () => {
  let h;
  before(async () => { h = await setup(); });
  after(async () => { if (h) await h.close(); });

  test('counts since the previous flush, first error, exact ack shape', { timeout: 10000 }, async () => {
    const cid = uid('flush');
    const c = await h.connect();
    await c.sendAll([r.log(cid, 'one'), r.log(cid, 'two'), 'this is not json\n', r.log(cid, 'three'), { type: 'log', body: 'no correlation id' }]);
    const a1 = await c.flush('f-1');
    assert.deepEqual(a1, { ack: 'f-1', accepted: 3, rejected: 2, first_error: 'malformed_json' });

    const a2 = await c.flush('f-2');
    assert.deepEqual(a2, { ack: 'f-2', accepted: 0, rejected: 0, first_error: null }, 'counts restart at each flush');

    await c.sendAll([{ type: 'log', correlation_id: cid }, '[]\n', r.log(cid, 'four')]);
    const a3 = await c.flush('f-3');
    assert.deepEqual(a3, { ack: 'f-3', accepted: 1, rejected: 2, first_error: 'missing_field' }, 'first_error is the first reason');
    c.destroy();
  });

  test('control records are not counted; blank lines are ignored', { timeout: 10000 }, async () => {
    const cid = uid('ctl');
    const c = await h.connect();
    await c.send(r.log(cid, 'a'));
    await c.send('\n\n');
    const st = await c.stats('s-ctl');
    assert.equal(st.stats, 's-ctl');
    await c.send(r.log(cid, 'b'));
    const a = await c.flush('f-ctl');
    assert.deepEqual(a, { ack: 'f-ctl', accepted: 2, rejected: 0, first_error: null });
    c.destroy();
  });

  test('a flush or stats id over 256 bytes: an error reply, nothing counted, the window kept', { timeout: 10000 }, async () => {
    const cid = uid('longid');
    const c = await h.connect();
    const before = await c.stats();
    await c.sendAll([r.log(cid, 'a'), '{"type":"log"}\n', { type: 'flush', id: 'x'.repeat(257) }]);
    const e = await c.waitForLine((v) => v.error !== undefined, 5000, 'the error reply');
    assert.deepEqual(e, { ack: null, error: 'id_too_long' });
    await c.send({ type: 'stats', id: 's'.repeat(300) });
    const es = await c.waitForLine((v) => v.stats === null, 5000, 'the stats error reply');
    assert.deepEqual(es, { stats: null, error: 'id_too_long' });
    await c.send(r.log(cid, 'b'));
    const a = await c.flush('f-after-long');
    assert.deepEqual(a, { ack: 'f-after-long', accepted: 2, rejected: 1, first_error: 'missing_field' },
      'the error reply neither reset nor changed the window');
    const after = await c.stats();
    assert.equal(delta(before, after, 'records.rejected'), 1, 'only the log without correlation_id');
    assert.equal(delta(before, after, 'records.accepted'), 2);
    const idOf256 = 'y'.repeat(256);
    assert.deepEqual(await c.flush(idOf256), { ack: idOf256, accepted: 0, rejected: 0, first_error: null });
    c.destroy();
  });

  test('an ack comes only after every earlier record of the connection', { timeout: 20000 }, async () => {
    const cid = uid('bulk');
    const T = ids.traceIdFor(cid);
    const c = await h.connect();
    const N = 1500;
    const lines = [];
    for (let i = 0; i < N; i++) lines.push(r.log(cid, `bulk ${i}`, { attributes: { i } }));
    lines.push({ type: 'flush', id: 'f-bulk' }); // in the same write as the records
    const p = c.waitForLine((v) => v.ack === 'f-bulk', 10000, 'bulk ack');
    await c.sendAll(lines);
    const a = await p;
    assert.deepEqual(a, { ack: 'f-bulk', accepted: N, rejected: 0, first_error: null });
    assert.deepEqual(c.lines, [a], 'the ack is the only line the agent sent');
    // Acked records are in the pipeline: all of them reach the sink, each once.
    await h.sink.waitFor((s) => logsOfTrace(s, T).length >= N, 10000, `${N} logs`);
    const bodies = logsOfTrace(h.sink, T).map((l) => l.log.body);
    assert.equal(new Set(bodies).size, N);
    assert.equal(bodies.length, N, 'no log exported twice');
    c.destroy();
  });

  test('acks are per connection', { timeout: 10000 }, async () => {
    const cid = uid('per-conn');
    const a = await h.connect();
    const b = await h.connect();
    const before = await a.stats();
    await a.sendAll([r.log(cid, 'a1'), r.log(cid, 'a2'), r.log(cid, 'a3')]);
    await b.sendAll(['{"type":\n', r.log(cid, 'b1'), '{"v":2,"type":"log","correlation_id":"x","body":"y"}\n']);
    const [ackB, ackA] = await Promise.all([b.flush('fb'), a.flush('fa')]);
    assert.deepEqual(ackA, { ack: 'fa', accepted: 3, rejected: 0, first_error: null });
    assert.deepEqual(ackB, { ack: 'fb', accepted: 1, rejected: 2, first_error: 'malformed_json' });
    const after = await a.stats();
    assert.equal(delta(before, after, 'records.accepted'), 4);
    assert.equal(delta(before, after, 'records.rejected'), 2);
    assert.equal(delta(before, after, 'rejected.malformed_json'), 1);
    assert.equal(delta(before, after, 'rejected.unsupported_version'), 1);
    a.destroy();
    b.destroy();
  });

  test('a flush split across writes is still answered', { timeout: 10000 }, async () => {
    const c = await h.connect();
    const p = c.waitForLine((v) => v.ack === 'split', 5000, 'split ack');
    const line = `${JSON.stringify(r.log(uid('split'), 'x'))}\n{"type":"flush","id":"split"}\n`;
    for (let i = 0; i < line.length; i += 7) {
      await c.send(line.slice(i, i + 7));
    }
    const a = await p;
    assert.deepEqual(a, { ack: 'split', accepted: 1, rejected: 0, first_error: null });
    c.destroy();
  });
});

/** Runs socat with `input` on stdin (then EOF: socat half-closes), resolves with its stdout. */
function socat(sock, input, args = []) {
  return withTimeout(new Promise((resolve, reject) => {
    const p = execFile('socat', [...args, '-', `UNIX-CONNECT:${sock}`], { timeout: 8000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)));
    p.stdin.end(input);
  }), 10000, 'socat');
}

// A client that half-closes right after its flush (socat's way, shutdown(SHUT_WR), node's
// socket.end()) still gets every ack it is owed, also when acks wait for the journal's sync;
// then the agent closes the connection.
for (const fsync of ['batch', 'always', 'never']) {
  describe(`half-closed connections with the journal (fsync: ${fsync})`, needBinary, () => {
    let h;
    before(async () => {
      h = await setup({ config: { storage: { path: path.join(makeTempDir(), 'journal'), fsync } } });
    });
    after(async () => { if (h) await h.close(); });

    test('socat, with the protocol\'s own recipe, prints the ack', { timeout: 15000 }, async () => {
      const cid = uid('socat');
      const input = `${JSON.stringify(r.log(cid, 'one'))}\n{"type":"log"}\n{"type":"flush","id":"f1"}\n`;
      const out = await socat(h.agent.socketPath, input);
      assert.deepEqual(out.trim().split('\n').map((l) => JSON.parse(l)),
        [{ ack: 'f1', accepted: 1, rejected: 1, first_error: 'missing_field' }]);
    });

    test('replies come back in the order asked, behind acks waiting for the journal', { timeout: 15000 }, async () => {
      const cid = uid('order');
      const c = await h.connect();
      const lines = [];
      for (let i = 0; i < 50; i++) lines.push(r.log(cid, `order ${i}`));
      lines.push({ type: 'flush', id: 'o1' }, { type: 'flush', id: 'z'.repeat(257) }, { type: 'stats', id: 'so' },
        r.log(cid, 'more'), { type: 'flush', id: 'o2' });
      await c.sendAll(lines);
      await c.waitForLine((v) => v.ack === 'o2', 5000, 'the last ack');
      assert.deepEqual(c.lines.map((v) => (v.stats !== undefined ? `stats ${v.stats}` : `ack ${v.ack} ${v.error || v.accepted}`)),
        ['ack o1 50', 'ack null id_too_long', 'stats so', 'ack o2 1']);
      c.destroy();
    });

    test('node socket.end() after two flushes: both acks, then the agent closes', { timeout: 15000 }, async () => {
      const cid = uid('end');
      const c = await h.connect();
      const lines = [];
      for (let i = 0; i < 200; i++) lines.push(r.log(cid, `end ${i}`));
      lines.push({ type: 'flush', id: 'e1' }, r.log(cid, 'last'), { type: 'flush', id: 'e2' });
      await c.sendAll(lines);
      c.socket.end();
      await withTimeout(c.closed, 5000, 'the agent closes the half-closed connection');
      assert.deepEqual(c.lines, [
        { ack: 'e1', accepted: 200, rejected: 0, first_error: null },
        { ack: 'e2', accepted: 1, rejected: 0, first_error: null },
      ]);
    });
  });
}
