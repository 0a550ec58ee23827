'use strict';
// 10. The socket file: stale sockets are replaced, live ones and non-sockets are never touched,
//     mode 0660 by default.

const { describe, test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { testConfig, needBinary } = require('./lib/harness');
const { makeTempDir, withTimeout } = require('./lib/util');

/** Leaves a socket file nobody listens on: a child binds it and dies without unlinking. */
async function makeStaleSocket(p) {
  const child = spawn(process.execPath, ['-e', `
    const net = require('net');
    const s = net.createServer();
    s.listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'));
  `], { stdio: 'ignore' });
  await withTimeout(new Promise((r) => child.once('exit', r)), 5000, 'stale socket maker');
  assert.ok(fs.statSync(p).isSocket(), 'a stale socket file exists');
}

describe('socket file', needBinary, () => {
  const agents = [];
  after(async () => { await Promise.all(agents.map((a) => a.stop())); });

  test('a stale socket file is replaced at start', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 'stale.sock');
    await makeStaleSocket(sock);
    const a = await startAgent({ dir, config: testConfig(undefined), args: ['--socket', sock] });
    agents.push(a);
    const c = await connect(sock);
    const st = await c.stats('after-stale');
    assert.equal(st.stats, 'after-stale');
    c.destroy();
  });

  test('a live socket (another agent) is left alone: exit 1', { timeout: 15000 }, async () => {
    const a = await startAgent({ config: testConfig(undefined) });
    agents.push(a);
    const ino = fs.statSync(a.socketPath).ino;
    const res = await runSpindle(['--socket', a.socketPath], { cwd: a.dir, timeoutMs: 10000 });
    assert.equal(res.code, 1, `second agent exits 1: ${res.stderr}`);
    assert.ok(res.stderr.length > 0, 'with a message');
    assert.equal(fs.statSync(a.socketPath).ino, ino, 'the live socket file is the same');
    const c = await connect(a.socketPath);
    const st = await c.stats('still-alive');
    assert.equal(st.stats, 'still-alive', 'the first agent still answers');
    c.destroy();
  });

  test('a regular file at the socket path is left untouched: exit 1', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const p = path.join(dir, 'not-a-socket');
    fs.writeFileSync(p, 'precious data\n');
    const res = await runSpindle(['--socket', p], { cwd: dir, timeoutMs: 10000 });
    assert.equal(res.code, 1, `exit 1: ${res.stderr}`);
    assert.ok(res.stderr.length > 0);
    assert.equal(fs.readFileSync(p, 'utf8'), 'precious data\n');
    assert.ok(fs.statSync(p).isFile());
  });

  test('the socket is created with mode 0660 by default', { timeout: 15000 }, async () => {
    const a = await startAgent({ config: testConfig(undefined) });
    agents.push(a);
    const st = fs.statSync(a.socketPath);
    assert.ok(st.isSocket());
    assert.equal((st.mode & 0o777).toString(8), '660');
  });

  test('socket.mode is honoured', { timeout: 15000 }, async () => {
    const a = await startAgent({ config: testConfig(undefined, { socket: { mode: '0600' } }) });
    agents.push(a);
    assert.equal((fs.statSync(a.socketPath).mode & 0o777).toString(8), '600');
  });

  test('socket.path from the config file is used when no flag is given', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const sock = path.join(dir, 'from-config.sock');
    const a = await startAgent({
      dir,
      config: testConfig(undefined, { socket: { path: sock } }),
      socketFlag: false,
      socketPath: sock,
    });
    agents.push(a);
    assert.ok(fs.statSync(sock).isSocket());
    const c = await connect(sock);
    assert.equal((await c.flush('cfg-path')).ack, 'cfg-path');
    c.destroy();
  });

  test('--socket beats socket.path from the file', { timeout: 15000 }, async () => {
    const dir = makeTempDir();
    const fromFile = path.join(dir, 'file.sock');
    const fromFlag = path.join(dir, 'flag.sock');
    const a = await startAgent({
      dir,
      config: testConfig(undefined, { socket: { path: fromFile } }),
      args: ['--socket', fromFlag],
    });
    agents.push(a);
    assert.ok(fs.statSync(fromFlag).isSocket());
    assert.equal(fs.existsSync(fromFile), false);
  });
});
