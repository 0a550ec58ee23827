'use strict';
// The agent's own log: repeats of the same message are rate-limited per call site
// (at most 5 lines per 10 s window), while every rejection is still counted.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid } = require('./lib/util');

describe('agent log rate limiting', needBinary, () => {
  test('a flood of bad records gives at most 5 log lines, and every one is counted', { timeout: 20000 }, async () => {
    const h = await setup({ noSink: true, config: {} });
    try {
      const c = await h.connect();
      const before = await c.stats(uid('s'));
      for (let i = 0; i < 200; i++) c.send(`not json ${i}\n`);
      const ack = await c.flush(uid('f'));
      assert.equal(ack.rejected, 200, 'every bad record is rejected and reported in the ack');
      assert.equal(ack.first_error, 'malformed_json');
      const after = await c.stats(uid('s'));
      assert.equal(after.rejected.malformed_json - before.rejected.malformed_json, 200,
        'every rejection is counted');
      // The limiter allows a burst of 5 per window; the flood must not produce more.
      const lines = h.agent.stderr().split('\n').filter((l) => /record rejected/.test(l));
      assert.ok(lines.length >= 1, 'the first rejection is logged');
      assert.ok(lines.length <= 5, `at most 5 rejection lines in a window, saw ${lines.length}`);
      for (const l of lines) assert.match(l, new RegExp(`pid=${process.pid}\\b`));
      // The connection is still usable after the flood.
      c.send({ type: 'log', correlation_id: uid('ok'), body: 'still here' });
      const ack2 = await c.flush(uid('f'));
      assert.equal(ack2.accepted, 1);
      assert.equal(ack2.rejected, 0);
    } finally {
      await h.close();
    }
  });
});
