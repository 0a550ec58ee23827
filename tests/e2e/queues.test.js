'use strict';
// One queue per destination and signal: a failing traces endpoint does not hold logs back.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

describe('queues per signal', needBinary, () => {
  test('traces endpoint answering 503 while logs flow: logs keep arriving', { timeout: 30000 }, async () => {
    const h = await setup({
      sinkOpts: { respond: async (req) => (req.signal === 'traces' ? { status: 503, body: 'down' } : undefined) },
      config: { export: { retry_initial: '200ms', retry_max: '400ms' } },
    });
    try {
      const c = await h.connect();
      const tag = uid('q');
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 20; i++) {
          const cid = `${tag}-${round}-${i}`;
          c.send({ type: 'span', correlation_id: cid, name: 'work', start: Date.now() / 1000 - 0.01, end: Date.now() / 1000 });
          c.send({ type: 'log', correlation_id: cid, body: `${tag}:${round}:${i}` });
        }
        await c.flush(uid('f'));
        // Each round's logs arrive while the traces queue keeps retrying.
        const want = (round + 1) * 20;
        await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= want, 5000);
        await sleep(100);
      }
      const traceAttempts = h.sink.requests.filter((r) => r.signal === 'traces').length;
      assert.ok(traceAttempts >= 2, `the traces queue retried meanwhile (${traceAttempts} attempts)`);
      assert.equal(h.sink.spans().length, 0, 'no span was accepted by the failing endpoint');
      const st = await c.stats(uid('s'));
      assert.ok(st.export.retries >= 1, 'retries are counted');
    } finally {
      await h.close();
    }
  });
});
