'use strict';
// Issue 11: DogStatsD (UDP and the Unix datagram socket), the protocol's datagram socket
// (<socket>.dgram), and the sender's pid and uid from the kernel. What reaches the OTLP sink is
// decoded there (lib/sink.js); counters come from the stats control record.
//
// hot-shots 17 is the real client over UDP. Its Unix datagram transport needs the native
// unix-dgram module, which `npm ci --ignore-scripts` does not build (and no node headers are
// installed here), so the Unix sockets are fed by a plain python3 AF_UNIX/SOCK_DGRAM client.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');
const StatsD = require('hot-shots');
const { setup, needBinary } = require('./lib/harness');
const ids = require('./lib/ids');
const { pointValue } = require('./lib/otlp');
const { uid, sleep, makeTempDir } = require('./lib/util');
const { latestPoint } = require('./lib/find');

/** Sends each payload as one datagram to a Unix datagram socket; returns the sender's pid. */
function unixDgram(sockPath, payloads) {
  const script = [
    'import os, socket, sys, json',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    'for p in json.loads(sys.stdin.read()):',
    '    s.sendto(bytes.fromhex(p), sys.argv[1])',
    'print(os.getpid())',
  ].join('\n');
  const hex = payloads.map((p) => Buffer.from(p).toString('hex'));
  return Number(execFileSync('python3', ['-c', script, sockPath], { input: JSON.stringify(hex) }).toString().trim());
}

/** The UDP port the agent logged for statsd.listen. */
async function statsdPort(agent) {
  const line = await agent.waitForStderr(/msg="statsd listening"/, 5000);
  return Number(/listen=127\.0\.0\.1:(\d+)/.exec(line)[1]);
}

async function hotShots(port, opts = {}) {
  const errors = [];
  const c = new StatsD({ host: '127.0.0.1', port, errorHandler: (e) => errors.push(e), ...opts });
  return { c, errors, close: () => new Promise((res) => c.close(() => res())) };
}

async function stats(h) {
  const c = await h.connect();
  const s = await c.stats();
  c.destroy();
  return s;
}

describe('DogStatsD over UDP with hot-shots', needBinary, () => {
  let h;
  let client;
  const sfx = uid('d');
  const cid = uid('dsd-wf');
  before(async () => {
    h = await setup({ config: { statsd: { listen: '127.0.0.1:0' } } });
    const port = await statsdPort(h.agent);
    client = await hotShots(port, { globalTags: { service: 'checkout', env: 'prod', version: '1.4.2' } });
    // hot-shots drops a sampled metric unless Math.random() < rate: stubbed, every sample is
    // sent, each standing for 1/rate of them.
    const random = Math.random;
    Math.random = () => 0;
    try {
      client.c.increment(`orders.${sfx}`, 1, 0.5, { region: 'eu' });
      client.c.increment(`orders.${sfx}`, 2, 0.5, { region: 'eu' });
      client.c.increment(`orders.${sfx}`, 1, { region: 'us', correlation_id: cid });
    } finally {
      Math.random = random;
    }
    client.c.gauge(`queue.depth.${sfx}`, 5, { queue: 'q1' });
    client.c.gauge(`queue.depth.${sfx}`, 3, { queue: 'q1' });
    client.c.timing(`latency.${sfx}`, 12, { route: '/pay' });
    client.c.timing(`latency.${sfx}`, 120, { route: '/pay' });
    client.c.histogram(`size.${sfx}`, 7, ['flag']);
    client.c.distribution(`dist.${sfx}`, 9);
    client.c.set(`users.${sfx}`, 'alice');
    client.c.set(`users.${sfx}`, 'bob');
    client.c.set(`users.${sfx}`, 'alice');
    await h.sink.waitFor((s) => {
      const eu = latestPoint(s, `orders.${sfx}`, { region: 'eu' });
      const lat = latestPoint(s, `latency.${sfx}`);
      const us = latestPoint(s, `orders.${sfx}`, { region: 'us' });
      return eu && pointValue(eu.point) === 6 && lat && lat.point.count === '2' && us;
    }, 8000, 'statsd metrics at the sink');
  });
  after(async () => {
    if (client) await client.close();
    if (h) await h.close();
  });

  test('counters with sample rates are cumulative sums scaled by 1/rate', () => {
    const eu = latestPoint(h.sink, `orders.${sfx}`, { region: 'eu' });
    assert.equal(eu.type, 'sum');
    assert.equal(eu.monotonic, true);
    assert.equal(pointValue(eu.point), 6); // (1 + 2) / 0.5
    assert.equal(pointValue(latestPoint(h.sink, `orders.${sfx}`, { region: 'us' }).point), 1);
  });

  test('service, env and version tags are the resource, not attributes', () => {
    const eu = latestPoint(h.sink, `orders.${sfx}`, { region: 'eu' });
    assert.equal(eu.resource['service.name'], 'checkout');
    assert.equal(eu.resource['deployment.environment.name'], 'prod');
    assert.equal(eu.resource['service.version'], '1.4.2');
    for (const k of ['service', 'env', 'version']) assert.equal(eu.point.attributes[k], undefined);
  });

  test('a correlation_id tag is an exemplar on the workflow trace, never a dimension', () => {
    const us = latestPoint(h.sink, `orders.${sfx}`, { region: 'us' });
    assert.equal(us.point.attributes.correlation_id, undefined);
    const all = h.sink.metrics().filter((m) => m.metric.name === `orders.${sfx}` && m.point.exemplars.length);
    assert.ok(all.length >= 1, 'an exemplar was exported');
    assert.equal(all[0].point.exemplars[0].traceId, ids.traceIdFor(cid));
    assert.equal(all[0].point.attributes.region, 'us');
  });

  test('gauges keep the last value; timers are ms histograms; h and d are unitless', () => {
    const g = latestPoint(h.sink, `queue.depth.${sfx}`, { queue: 'q1' });
    assert.equal(g.type, 'gauge');
    assert.equal(pointValue(g.point), 3);
    const lat = latestPoint(h.sink, `latency.${sfx}`, { route: '/pay' });
    assert.equal(lat.type, 'histogram');
    assert.equal(lat.metric.unit, 'ms');
    assert.equal(lat.point.sum, 132);
    const hi = latestPoint(h.sink, `size.${sfx}`, { flag: '' }); // a tag without a value
    assert.equal(hi.type, 'histogram');
    assert.equal(hi.metric.unit || '', '');
    assert.equal(latestPoint(h.sink, `dist.${sfx}`).type, 'histogram');
  });

  test('a set is a gauge of the distinct values of the interval', () => {
    const pts = h.sink.metrics().filter((m) => m.metric.name === `users.${sfx}`);
    assert.ok(pts.length >= 1);
    assert.equal(pts[0].type, 'gauge');
    assert.equal(pointValue(pts[0].point), 2);
  });

  test('the statsd counters count the metrics', async () => {
    const s = await stats(h);
    assert.equal(s.statsd.metrics, 12, JSON.stringify(s.statsd));
    assert.equal(s.statsd.bad_line, 0);
  });
});

describe('DogStatsD on a Unix datagram socket, and the protocol datagram socket', needBinary, () => {
  let h;
  let statsdPid;
  let dgramPid;
  const sfx = uid('u');
  const cid = uid('dgram-wf');
  const statsdSock = path.join(makeTempDir(), 'dsd.sock');
  before(async () => {
    h = await setup({ args: ['--statsd-socket', statsdSock] });
    await h.agent.waitForStderr(/msg="statsd socket ready"/, 5000);
    statsdPid = unixDgram(statsdSock, [
      // Several metrics per datagram, extension fields that are ignored, an event and a check.
      `hits.${sfx}:3|c|#service:cart,route:/a|c:abc123|card:low\nhits.${sfx}:2|c|#service:cart,route:/a|T1700000000\n`,
      `_e{6,9}:deploy|v2 is out|t:warning|#service:cart,correlation_id:${cid}\n_sc|db.${sfx}|2|#service:cart|m:db down\n`,
    ]);
    dgramPid = unixDgram(`${h.agent.socketPath}.dgram`, [
      `${JSON.stringify({ v: 1, type: 'log', correlation_id: cid, function: 'cart', body: `dgram-${sfx}` })}\n` +
      `${JSON.stringify({ v: 1, type: 'metric', function: 'cart', name: `dg.${sfx}`, kind: 'counter', value: 4 })}\n`,
    ]);
    await h.sink.waitFor((s) => {
      const hits = latestPoint(s, `hits.${sfx}`);
      const logs = s.logs();
      return hits && pointValue(hits.point) === 5 && latestPoint(s, `dg.${sfx}`)
        && logs.some((l) => l.log.body === `dgram-${sfx}`)
        && logs.some((l) => l.log.body === 'v2 is out')
        && logs.some((l) => l.log.body === 'db down');
    }, 8000, 'datagrams at the sink');
  });
  after(async () => { if (h) await h.close(); });

  test('several metrics per datagram, extension fields ignored, service tag on the resource', () => {
    const hits = latestPoint(h.sink, `hits.${sfx}`, { route: '/a' });
    assert.equal(pointValue(hits.point), 5);
    assert.equal(hits.resource['service.name'], 'cart');
    assert.deepEqual(Object.keys(hits.point.attributes), ['route']);
  });

  test('a DogStatsD event is a log record on its workflow trace, with the sender from the kernel', () => {
    const ev = h.sink.logs().find((l) => l.log.body === 'v2 is out');
    assert.equal(ev.log.traceId, ids.traceIdFor(cid));
    assert.equal(ev.log.severityText, 'WARN');
    assert.equal(ev.log.attributes['dogstatsd.event.title'], 'deploy');
    assert.equal(ev.resource['service.name'], 'cart');
    assert.equal(Number(ev.log.attributes['process.pid']), statsdPid);
    assert.equal(Number(ev.log.attributes['spindle.peer.uid']), process.getuid());
  });

  test('a service check is a log record with its status', () => {
    const sc = h.sink.logs().find((l) => l.log.body === 'db down');
    assert.equal(sc.log.attributes['dogstatsd.check.name'], `db.${sfx}`);
    assert.equal(sc.log.attributes['dogstatsd.check.status'], 'CRITICAL');
    assert.equal(sc.log.severityText, 'ERROR');
  });

  test('NDJSON datagrams: log records carry process.pid and spindle.peer.uid, metric points never', () => {
    const l = h.sink.logs().find((x) => x.log.body === `dgram-${sfx}`);
    assert.equal(l.log.traceId, ids.traceIdFor(cid));
    assert.equal(Number(l.log.attributes['process.pid']), dgramPid);
    assert.equal(Number(l.log.attributes['spindle.peer.uid']), process.getuid());
    const p = latestPoint(h.sink, `dg.${sfx}`);
    assert.equal(pointValue(p.point), 4);
    assert.equal(p.point.attributes['process.pid'], undefined);
    assert.equal(p.point.attributes['spindle.peer.uid'], undefined);
  });

  test('stream socket records carry the pid and uid of the connected process', async () => {
    const c = await h.connect();
    await c.sendAll([{ v: 1, type: 'log', correlation_id: cid, function: 'cart', body: `stream-${sfx}` }]);
    await c.flush();
    await h.sink.waitFor((s) => s.logs().some((l) => l.log.body === `stream-${sfx}`), 5000, 'stream log');
    const l = h.sink.logs().find((x) => x.log.body === `stream-${sfx}`);
    assert.equal(Number(l.log.attributes['process.pid']), process.pid);
    assert.equal(Number(l.log.attributes['spindle.peer.uid']), process.getuid());
  });
});

describe('datagram bad input: counted, logged, everyone else served', needBinary, () => {
  let h;
  let port;
  const sfx = uid('b');
  before(async () => {
    h = await setup({ config: { statsd: { listen: '127.0.0.1:0', max_series: 50 } } });
    port = await statsdPort(h.agent);
  });
  after(async () => { if (h) await h.close(); });

  test('garbage, unknown types and bad values are counted by reason; good lines still arrive', async () => {
    const dgram = require('node:dgram');
    const s = dgram.createSocket('udp4');
    const send = (b) => new Promise((res) => s.send(Buffer.from(b), port, '127.0.0.1', () => res()));
    await send('\x00\xff\xfe garbage without structure');
    await send('x:1|zz\ny:abc|c\n:1|c');
    await send(`good.${sfx}:1|c`);
    await send(Buffer.from([0x6e, 0xc3, 0x28, 0x3a, 0x31, 0x7c, 0x63])); // bad UTF-8 name
    s.close();
    await h.sink.waitFor((x) => latestPoint(x, `good.${sfx}`), 5000, 'the good line');
    const st = await stats(h);
    assert.equal(st.statsd.bad_line, 2, JSON.stringify(st.statsd)); // garbage, ":1|c"
    assert.equal(st.statsd.unknown_type, 1);
    assert.equal(st.statsd.bad_value, 1);
    assert.equal(st.statsd.bad_utf8, 1);
    await h.agent.waitForStderr(/msg="statsd line rejected" reason=unknown_type/, 2000);
  });

  test('10^6 distinct tag values: statsd.max_series series, the rest dropped and counted', { timeout: 120000 }, async () => {
    // Over the Unix socket (a blocking sender, so the kernel loses nothing): 10^4 datagrams
    // of 100 lines, each line a new value of the tag `user`.
    const sock = path.join(h.agent.dir, 'card.sock');
    const h2 = await setup({ args: ['--statsd-socket', sock], config: { statsd: { max_series: 50 } } });
    try {
      await h2.agent.waitForStderr(/statsd socket ready/, 5000);
      const r = spawnSync('python3', ['-c', [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
        'for b in range(10000):',
        `    s.sendto("\\n".join("card.${sfx}:1|c|#user:u%d" % (b * 100 + i) for i in range(100)).encode(), sys.argv[1])`,
      ].join('\n'), sock], { timeout: 90000 });
      assert.equal(r.status, 0, String(r.stderr));
      let st;
      for (let i = 0; i < 600; i++) {
        st = await stats(h2);
        if (st.statsd.metrics >= 1000000) break;
        await sleep(100);
      }
      assert.equal(st.statsd.metrics, 1000000, JSON.stringify(st.statsd));
      assert.equal(st.statsd.series_limit, 1000000 - 50);
      assert.ok(st.memory.used_bytes < 64 * 1024 * 1024, `memory.used_bytes ${st.memory.used_bytes}`);
      await h2.agent.waitForStderr(/statsd series limit reached/, 2000);
      // Everyone else is served: a socket record's metric arrives.
      const c = await h2.connect();
      await c.sendAll([{ v: 1, type: 'metric', function: 'f', name: `after.${sfx}`, kind: 'counter', value: 1 }]);
      await c.flush();
      await h2.sink.waitFor((x) => latestPoint(x, `after.${sfx}`), 5000, 'a socket metric after the flood');
      const pts = h2.sink.metrics().filter((m) => m.metric.name === `card.${sfx}`);
      assert.ok(new Set(pts.map((m) => m.point.attributes.user)).size <= 50, 'at most max_series series exported');
    } finally {
      await h2.close();
    }
  });

  test('kernel drops on UDP are read (SO_RXQ_OVFL) and counted', { timeout: 60000 }, async () => {
    // Stopped, the agent reads nothing: 4 MB of datagrams overflow its receive queue.
    process.kill(h.agent.pid, 'SIGSTOP');
    try {
      const r = spawnSync('python3', ['-c', [
        'import socket',
        's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
        'for i in range(4000):',
        `    s.sendto(b"ovfl.${sfx}:1|c|#pad:" + b"p" * 1000, ("127.0.0.1", ${port}))`,
      ].join('\n')], { timeout: 30000 });
      assert.equal(r.status, 0, String(r.stderr));
    } finally {
      process.kill(h.agent.pid, 'SIGCONT');
    }
    // The kernel stamps its running drop count on the datagrams it queues after a drop: the
    // next one, once the agent has emptied the queue, tells.
    await stats(h);
    await sleep(300);
    const dgram = require('node:dgram');
    const u = dgram.createSocket('udp4');
    await new Promise((res) => u.send(Buffer.from(`ovfl.${sfx}:1|c|#pad:${'p'.repeat(1000)}`), port, '127.0.0.1', () => res()));
    u.close();
    let st;
    for (let i = 0; i < 100; i++) {
      st = await stats(h);
      if (st.inputs.dgram_kernel_dropped > 0) break;
      await sleep(50);
    }
    assert.ok(st.inputs.dgram_kernel_dropped > 0, JSON.stringify(st.inputs));
    // What the kernel kept was read: kept + dropped = sent.
    await sleep(200);
    st = await stats(h);
    assert.ok(st.inputs.dgram_kernel_dropped < 4001);
    await h.sink.waitFor((x) => {
      const p = latestPoint(x, `ovfl.${sfx}`);
      return p && pointValue(p.point) + st.inputs.dgram_kernel_dropped === 4001;
    }, 5000, `kept + kernel_dropped (${st.inputs.dgram_kernel_dropped}) = 4001`);
  });

  test('a datagram over 64 KiB is dropped and counted', async () => {
    // UDP cannot carry one (65507 bytes at most): the protocol's Unix datagram socket can.
    const before = (await stats(h)).inputs.dgram_truncated;
    const r = spawnSync('python3', ['-c', [
      'import socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)',
      `s.sendto(b'{"v":1,"type":"log","body":"' + b"a" * 70000 + b'"}\\n', sys.argv[1])`,
    ].join('\n'), `${h.agent.socketPath}.dgram`]);
    assert.equal(r.status, 0, String(r.stderr));
    let after;
    for (let i = 0; i < 50; i++) {
      after = (await stats(h)).inputs.dgram_truncated;
      if (after > before) break;
      await sleep(50);
    }
    assert.equal(after - before, 1);
  });
});

describe('allowed_uids: other senders are refused, counted peer_not_allowed', needBinary, () => {
  let h;
  const other = String(process.getuid() + 1);
  const sfx = uid('p');
  const statsdSock = path.join(makeTempDir(), 'dsd.sock');
  before(async () => {
    // Only the DogStatsD socket refuses us; the stream socket (stats) lets our own uid in.
    h = await setup({
      args: ['--statsd-socket', statsdSock],
      config: { statsd: { allowed_uids: [other] }, socket: { allowed_uids: [String(process.getuid())] } },
    });
  });
  after(async () => { if (h) await h.close(); });

  test('statsd.allowed_uids refuses a DogStatsD sender with another uid', async () => {
    unixDgram(statsdSock, [`nope.${sfx}:1|c`]);
    let st;
    for (let i = 0; i < 50; i++) {
      st = await stats(h);
      if (st.inputs.peer_not_allowed >= 1) break;
      await sleep(50);
    }
    assert.equal(st.inputs.peer_not_allowed, 1);
    assert.equal(st.statsd.metrics, 0);
    await h.agent.waitForStderr(/sender not in allowed_uids; refused.*input=statsd/, 2000);
  });
});

describe('socket.allowed_uids refuses stream and datagram senders', needBinary, () => {
  test('a connection or datagram from another uid is refused and logged', async () => {
    const other = String(process.getuid() + 1);
    const h = await setup({ config: { socket: { allowed_uids: [other] } }, noSink: true,
      rawConfig: `socket:\n  allowed_uids: ["${other}"]\nfile:\n  enabled: false\n` }).catch((e) => e);
    // The agent's readiness probe itself is refused, which is fine: it connects and is closed.
    assert.ok(!(h instanceof Error), String(h && h.message));
    try {
      unixDgram(`${h.agent.socketPath}.dgram`, ['{"v":1,"type":"log","correlation_id":"x","body":"b"}\n']);
      await h.agent.waitForStderr(/sender not in allowed_uids; refused.*input=datagram/, 3000);
      await h.agent.waitForStderr(/sender not in allowed_uids; refused.*input=socket/, 3000);
    } finally {
      await h.close();
    }
  });
});

describe('datagrams while input is paused, and after a crash', needBinary, () => {
  test('paused input keeps reading datagrams and drops them, counted dgram_dropped', { timeout: 60000 }, async () => {
    // Every export waits 1 s and the queue holds 1 KiB: the first batches pause input. Once
    // the drops are seen the sink answers at once, so the queue drains and input resumes.
    let slow = true;
    const h = await setup({
      sinkOpts: { respond: async () => { if (slow) await sleep(1000); return undefined; } },
      config: { export: { queue_max_bytes: '1KiB', batch_max_items: 2, batch_delay: '20ms' }, otlp: { compression: 'none' } },
    });
    try {
      const tag = uid('paused');
      const payloads = [];
      for (let i = 0; i < 200; i++) {
        const lines = [];
        for (let j = 0; j < 5; j++) {
          lines.push(JSON.stringify({ v: 1, type: 'log', correlation_id: `${tag}-${j}`, body: `${tag}:${i}:${j}`, attributes: { pad: 'p'.repeat(100) } }));
        }
        payloads.push(`${lines.join('\n')}\n`);
      }
      unixDgram(`${h.agent.socketPath}.dgram`, payloads);
      await h.agent.waitForStderr(/input paused: datagram dropped/, 10000);
      slow = false;
      const c = await h.connect();
      const st = await c.stats(uid('s'), 30000); // answered once input resumes
      c.destroy();
      assert.ok(st.inputs.dgram_dropped >= 1, JSON.stringify(st.inputs));
      assert.equal(st.inputs.dgram_received, 200);
      assert.ok(st.connections.input_pauses >= 1);
    } finally {
      await h.close();
    }
  });

  test('DogStatsD datagrams are journaled: kill -9, restart, the points arrive', { timeout: 60000 }, async () => {
    const { startSink } = require('./lib/sink');
    const { startAgent } = require('./lib/agent');
    const { testConfig } = require('./lib/harness');
    const sink = await startSink({ respond: async () => ({ status: 503, body: 'down' }) });
    const jdir = makeTempDir();
    const sfx = uid('j');
    const statsdSock = path.join(makeTempDir(), 'dsd.sock');
    const cfg = () => testConfig(sink.url, {
      storage: { path: jdir, fsync: 'always' },
      statsd: { socket: statsdSock },
      export: { retry_initial: '200ms', retry_max: '500ms' },
    });
    let a = await startAgent({ config: cfg() });
    let a2;
    try {
      await a.waitForStderr(/statsd socket ready/, 5000);
      const pid = unixDgram(statsdSock, [`jobs.${sfx}:3|c|#service:batch,kind:a`, `jobs.${sfx}:4|c|#service:batch,kind:a`,
        `_e{4,5}:done|jobs!|#service:batch`]);
      const c = await require('./lib/client').connect(a.socketPath);
      for (let i = 0; i < 50; i++) {
        const st = await c.stats(uid('s'));
        if (st.journal.journaled >= 2) break;
        await sleep(50);
      }
      c.destroy();
      await sleep(300); // fsync: always writes on the next loop turn
      process.kill(a.pid, 'SIGKILL');
      await a.kill();
      sink.close && await sink.close();
      const sink2 = await startSink();
      try {
        a2 = await startAgent({ config: testConfig(sink2.url, {
          storage: { path: jdir, fsync: 'always' }, statsd: { socket: statsdSock } }) });
        await sink2.waitFor((s) => {
          const p = latestPoint(s, `jobs.${sfx}`, { kind: 'a' });
          return p && pointValue(p.point) === 7 && s.logs().some((l) => l.log.body === 'jobs!');
        }, 15000, 'replayed statsd metrics and event');
        const p = latestPoint(sink2, `jobs.${sfx}`, { kind: 'a' });
        assert.equal(p.resource['service.name'], 'batch');
        const ev = sink2.logs().find((l) => l.log.body === 'jobs!');
        assert.equal(Number(ev.log.attributes['process.pid']), pid, 'the sender survives the replay');
      } finally {
        if (a2) await a2.stop();
        await sink2.close();
      }
    } finally {
      await a.kill();
    }
  });
});

describe('statsd and datagram configuration', needBinary, () => {
  const fs = require('node:fs');
  const { runSpindle } = require('./lib/agent');
  const check = async (text) => {
    const f = path.join(makeTempDir(), 'c.yaml');
    fs.writeFileSync(f, text);
    return { f, r: await runSpindle(['--check-config', f]) };
  };
  test('--check-config names a bad statsd.listen, allowed_uids and max_series by FILE:LINE', async () => {
    let { f, r } = await check('statsd:\n  listen: "8125"\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${f}:2: statsd.listen '8125' must be HOST:PORT`));
    ({ f, r } = await check('socket:\n  allowed_uids:\n    - "1000"\n    - root\n'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${f}:4: socket.allowed_uids: 'root' is not a numeric user id`));
    ({ f, r } = await check('statsd:\n  max_series: 0\n'));
    assert.match(r.stderr, new RegExp(`${f}:2: statsd.max_series must be at least 1`));
    ({ r } = await check('statsd:\n  listen: "[::1]:0"\n  socket: /tmp/x.sock\n  allowed_uids: ["0"]\nsocket:\n  datagram: false\n'));
    assert.equal(r.code, 0, r.stderr);
  });
  test('a socket path with no room for ".dgram" leaves the datagram socket off, with a warning', async () => {
    const { startAgent } = require('./lib/agent');
    const base = makeTempDir();
    const name = 's'.repeat(Math.max(1, 104 - base.length - 1));
    const fsx = require('node:fs');
    const sock = path.join(base, name);
    assert.ok(sock.length >= 102 && sock.length <= 107, `path of ${sock.length} bytes`);
    const a = await startAgent({ args: ['--socket', sock], config: 'file:\n  enabled: false\n' });
    try {
      await a.waitForStderr(/datagram socket path too long; datagram socket off/, 5000);
      assert.equal(fsx.existsSync(`${sock}.dgram`), false);
    } finally {
      await a.stop();
    }
  });

  test('--print-default-config shows the statsd keys, off by default', async () => {
    const r = await runSpindle(['--print-default-config']);
    assert.match(r.stdout, /statsd:\n  socket: ""/);
    assert.match(r.stdout, /  listen: "off"/);
    assert.match(r.stdout, /  datagram: true/);
  });
});
