'use strict';
// SIGHUP re-reads the configuration: a valid change applies at once; a broken file keeps
// the running configuration (logged with the reason) and the agent keeps serving.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { setup, needBinary } = require('./lib/harness');
const { uid, sleep } = require('./lib/util');

const logsIn = (req) => req.body.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));

describe('reload on SIGHUP', needBinary, () => {
  test('a broken config keeps the old one; a valid one applies', { timeout: 30000 }, async () => {
    const h = await setup({ config: { export: { batch_max_items: 100, batch_delay: '300ms' } } });
    try {
      const cfgPath = h.agent.configPath;
      const good = fs.readFileSync(cfgPath, 'utf8');
      // 1. A broken file: unknown key.
      fs.writeFileSync(cfgPath, good + '\ncorrelation:\n  idel_timeout: 5s\n');
      h.agent.proc.kill('SIGHUP');
      const line = await h.agent.waitForStderr(/reload failed/, 3000);
      assert.match(line, /idel_timeout/, 'the log line says what is wrong');
      const c = await h.connect();
      const tag = uid('hup');
      for (let i = 0; i < 7; i++) c.send({ type: 'log', correlation_id: tag, body: `a${i}` });
      const ack = await c.flush(uid('f'));
      assert.equal(ack.accepted, 7, 'still serving after a failed reload');
      await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith('a')).length >= 7, 3000);
      assert.deepEqual(h.sink.requestsFor('logs').map((r) => logsIn(r).length), [7], 'old batch size kept');
      // 2. A valid change: batches of 3.
      h.sink.clear();
      fs.writeFileSync(cfgPath, good.replace('batch_max_items: 100', 'batch_max_items: 3'));
      assert.ok(fs.readFileSync(cfgPath, 'utf8').includes('batch_max_items: 3'), 'the test edited the file');
      h.agent.proc.kill('SIGHUP');
      await h.agent.waitForStderr(/configuration reloaded/, 3000);
      for (let i = 0; i < 7; i++) c.send({ type: 'log', correlation_id: tag, body: `b${i}` });
      await c.flush(uid('f'));
      await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith('b')).length >= 7, 3000);
      assert.deepEqual(h.sink.requestsFor('logs').map((r) => logsIn(r).length), [3, 3, 1], 'new batch size applies');
    } finally {
      await h.close();
    }
  });

  test('records.log_correlation_keys applies to the next line after a reload', { timeout: 30000 }, async () => {
    const h = await setup({ config: { export: { batch_delay: '100ms' } } });
    try {
      const line = (m) => `${JSON.stringify({ level: 'INFO', message: m, orderRef: 'ord-hup', correlation_id: 'cid-hup' })}\n`;
      const c = await h.connect();
      await c.sendAll([line('before')]);
      assert.equal((await c.flush(uid('f'))).accepted, 1);
      const cfgPath = h.agent.configPath;
      fs.writeFileSync(cfgPath, `${fs.readFileSync(cfgPath, 'utf8')}records:\n  log_correlation_keys: [orderRef]\n`);
      h.agent.proc.kill('SIGHUP');
      await h.agent.waitForStderr(/configuration reloaded/, 3000);
      await c.sendAll([line('after')]);
      assert.equal((await c.flush(uid('f'))).accepted, 1);
      const cid = (s, body) => (s.logs().find((l) => l.log.body === body) || { log: { attributes: {} } }).log.attributes['spindle.correlation_id'];
      await h.sink.waitFor((s) => cid(s, 'before') && cid(s, 'after'), 5000, 'both log records');
      assert.equal(cid(h.sink, 'before'), 'cid-hup', 'the default key before the reload');
      assert.equal(cid(h.sink, 'after'), 'ord-hup', 'the configured key after it');
    } finally {
      await h.close();
    }
  });

  test('the restart warning names only the settings that changed', { timeout: 30000 }, async () => {
    const h = await setup({ config: { export: { batch_delay: '100ms' } } });
    try {
      const cfgPath = h.agent.configPath;
      fs.writeFileSync(cfgPath, `${fs.readFileSync(cfgPath, 'utf8')}socket:\n  mode: "0600"\n`);
      h.agent.proc.kill('SIGHUP');
      await h.agent.waitForStderr(/configuration reloaded/, 3000);
      const warned = h.agent.stderr().split('\n').filter((l) => /needs a restart/.test(l));
      assert.deepEqual(warned.map((l) => (l.match(/key=(\S+)/) || [])[1]), ['socket.mode'], warned.join('\n'));
    } finally {
      await h.close();
    }
  });

  test('a signal the moment the socket is connectable is handled, not fatal', { timeout: 30000 }, async () => {
    // The socket listens before libcurl and the rest start; SIGHUP's default action would kill
    // an agent that did not catch it yet. Several rounds: the window is milliseconds wide.
    for (let round = 0; round < 5; round++) {
      const h = await setup({ config: { export: { batch_delay: '100ms' } } });
      try {
        h.agent.proc.kill('SIGHUP');
        await sleep(200);
        assert.equal(h.agent.proc.exitCode, null, `round ${round}: still running after SIGHUP`);
        assert.equal(h.agent.proc.signalCode, null, `round ${round}: not killed by the signal`);
        const c = await h.connect();
        const st = await c.stats(uid('s'));
        assert.ok(st.version);
        await h.agent.waitForStderr(/configuration reloaded/, 3000);
      } finally {
        await h.close();
      }
    }
  });
});
