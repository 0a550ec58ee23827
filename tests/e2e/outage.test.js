'use strict';
// Backend down for 20 s, then up: every acknowledged record arrives (unique ids counted;
// duplicates reported, not hidden). Without the journal this rests on retries with backoff.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

describe('backend outage', needBinary, () => {
  test('down 20 s then up: no acknowledged record missing', { timeout: 90000 }, async () => {
    const downUntil = Date.now() + 20000;
    const h = await setup({
      // Down: the connection is dropped without an answer (a transport failure).
      sinkOpts: { respond: async () => (Date.now() < downUntil ? { destroy: true } : undefined) },
      config: { export: { retry_initial: '500ms', retry_max: '2s', batch_delay: '200ms' } },
    });
    try {
      const c = await h.connect();
      const tag = uid('out');
      let sent = 0;
      // Records keep coming during the outage; each round is acknowledged.
      while (Date.now() < downUntil - 1000) {
        for (let i = 0; i < 50; i++) {
          c.send({ type: 'log', correlation_id: `${tag}-${sent % 7}`, body: `${tag}:${sent}` });
          sent++;
        }
        const ack = await c.flush(uid('f'));
        assert.equal(ack.accepted, 50);
        await sleep(1000);
      }
      assert.equal(h.sink.logs().length, 0, 'nothing got through while the backend was down');
      await h.sink.waitFor((s) => new Set(s.logs().map((l) => String(l.log.body))
        .filter((b) => b.startsWith(`${tag}:`))).size >= sent, 30000);
      const bodies = h.sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
      const unique = new Set(bodies);
      const duplicates = bodies.length - unique.size;
      console.log(`# outage: ${sent} acknowledged, ${unique.size} arrived, ${duplicates} duplicates`);
      assert.equal(unique.size, sent, 'no acknowledged record missing');
      assert.equal(duplicates, 0, 'no duplicates (the backend never accepted a request it then lost)');
      const st = await c.stats(uid('s'));
      assert.ok(st.export.retries >= 3, 'delivery was retried');
      for (const [reason, n] of Object.entries(st.dropped)) assert.equal(n, 0, `dropped.${reason}`);
    } finally {
      await h.close();
    }
  });
});
