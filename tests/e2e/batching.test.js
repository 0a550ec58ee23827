'use strict';
// Batching: a batch is sealed at export.batch_max_items, at export.batch_max_bytes, or
// export.batch_delay after its first item (default 1 s), whichever comes first.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep, waitUntil } = require('./lib/util');

const logsIn = (req) => req.body.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));

describe('batching', needBinary, () => {
  test('sealed by count: 12 logs with batch_max_items 5 arrive as 5 + 5 at once, 2 at the delay', { timeout: 20000 }, async () => {
    const h = await setup({ config: { export: { batch_max_items: 5, batch_delay: '3s' } } });
    try {
      const c = await h.connect();
      const cid = uid('count');
      for (let i = 0; i < 12; i++) c.send({ type: 'log', correlation_id: cid, body: `m${i}` });
      await c.flush(uid('f'));
      await h.sink.waitFor(() => h.sink.requestsFor('logs').length >= 2, 2000);
      const first = h.sink.requestsFor('logs').map((r) => logsIn(r).length);
      assert.deepEqual(first, [5, 5], 'two full batches, long before the 3 s delay');
      await sleep(500);
      assert.equal(h.sink.requestsFor('logs').length, 2, 'the remaining 2 wait for the delay');
      await h.sink.waitFor(() => h.sink.requestsFor('logs').length >= 3, 5000);
      assert.deepEqual(h.sink.requestsFor('logs').map((r) => logsIn(r).length), [5, 5, 2]);
    } finally {
      await h.close();
    }
  });

  test('sealed by bytes: 1 KiB bodies with batch_max_bytes 4KiB never share a batch of more than 4', { timeout: 20000 }, async () => {
    const h = await setup({ config: { export: { batch_max_bytes: '4KiB', batch_delay: '3s' } } });
    try {
      const c = await h.connect();
      const cid = uid('bytes');
      for (let i = 0; i < 20; i++) c.send({ type: 'log', correlation_id: cid, body: `${i}:` + 'x'.repeat(1024) });
      await c.flush(uid('f'));
      await h.sink.waitFor(() => h.sink.requestsFor('logs').length >= 4, 2000);
      const sizes = h.sink.requestsFor('logs').map((r) => logsIn(r).length);
      for (const n of sizes) assert.ok(n >= 1 && n <= 4, `batch of ${n} logs of 1 KiB under a 4 KiB cap`);
    } finally {
      await h.close();
    }
  });

  test('sealed by delay: with the default batch_delay a lone record arrives within about a second', { timeout: 20000 }, async () => {
    // The harness shortens batch_delay for speed; this sets it back to the default, 1 s.
    const h = await setup({ config: { export: { batch_delay: '1s' } } });
    try {
      const c = await h.connect();
      const t0 = Date.now();
      c.send({ type: 'log', correlation_id: uid('delay'), body: 'lone' });
      await c.flush(uid('f'));
      await h.sink.waitFor(() => h.sink.requestsFor('logs').length >= 1, 3000);
      const dt = Date.now() - t0;
      assert.ok(dt >= 800, `not sent before the delay (${dt} ms)`);
      assert.ok(dt < 1800, `sent within the 1 s delay plus delivery (${dt} ms)`);
    } finally {
      await h.close();
    }
  });
});
