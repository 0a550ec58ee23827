'use strict';
// Clients that hang up at awkward moments never take the agent down.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

describe('clients hanging up', needBinary, () => {
  test('a client that closes before reading its acks and stats replies', { timeout: 20000 }, async () => {
    const h = await setup({ noSink: true, config: {} });
    try {
      for (let round = 0; round < 20; round++) {
        const s = net.createConnection(h.agent.socketPath);
        await new Promise((resolve) => s.once('connect', resolve));
        // Large replies (stats) so that writes hit the closed peer.
        let burst = '';
        for (let i = 0; i < 200; i++) burst += `{"type":"stats","id":"${'s'.repeat(200)}-${i}"}\n`;
        s.write(burst);
        s.destroy();
      }
      await sleep(300);
      const c = await h.connect();
      c.send({ type: 'log', correlation_id: uid('alive'), body: 'still here' });
      const ack = await c.flush(uid('f'));
      assert.equal(ack.accepted, 1, 'the agent is still serving');
      assert.equal(h.agent.proc.exitCode, null, 'and still running');
    } finally {
      const info = await h.close();
      assert.equal(info.code, 0);
    }
  });
});
