'use strict';
// Backpressure: when an export queue is full the socket collector stops reading, so
// producers are pushed back (their flush acks wait) instead of records being dropped;
// reading resumes once the queues drain.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

describe('backpressure', needBinary, () => {
  test('a slow sink and a fast producer: nothing dropped, the producer waits', { timeout: 60000 }, async () => {
    const h = await setup({
      // Every export takes 150 ms; at most 2 in flight per signal.
      sinkOpts: { respond: async () => { await sleep(150); return undefined; } },
      config: {
        export: { batch_max_items: 50, batch_delay: '50ms', queue_max_bytes: '16KiB' },
        otlp: { compression: 'none' },
      },
    });
    try {
      const c = await h.connect();
      const tag = uid('bp');
      const N = 3000;
      const t0 = Date.now();
      // Written as fast as the socket takes it.
      for (let i = 0; i < N; i++) {
        c.send({ type: 'log', correlation_id: `${tag}-${i % 50}`, body: `${tag}:${i}`, attributes: { pad: 'p'.repeat(64) } });
      }
      const ack = await c.flush(uid('f'), 45000);
      const ackMs = Date.now() - t0;
      assert.equal(ack.accepted, N);
      const st = await c.stats(uid('s'));
      assert.ok(st.connections.input_pauses >= 1, 'input was paused at least once');
      assert.equal(st.dropped.queue_full, 0, 'nothing dropped for a full queue');
      // 3000 logs / 50 per request / 2 in flight x 150 ms is about 4.5 s of export time;
      // with reading paused the ack cannot come back long before most of it is done.
      assert.ok(ackMs > 1500, `the producer was held back (ack after ${ackMs} ms)`);
      await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= N, 30000);
      const bodies = h.sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
      assert.equal(new Set(bodies).size, N, 'every record arrived');
      assert.equal(bodies.length, N, 'and none twice');
    } finally {
      await h.close();
    }
  });
});
