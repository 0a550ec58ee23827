'use strict';
// The crash-safe journal (storage.path): what an ack promises survives kill -9 and SIGTERM while
// the backend is down; a full journal drops exactly its oldest data, counted; a damaged segment
// or a torn tail never stops the agent, and the loss is counted.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { needBinary, testConfig } = require('./lib/harness');
const { startSink } = require('./lib/sink');
const { startAgent, runSpindle } = require('./lib/agent');
const { connect } = require('./lib/client');
const { pointValue } = require('./lib/otlp');
const { makeTempDir, uid, sleep } = require('./lib/util');

/** A sink whose availability the test switches: down answers 503 (retryable). */
async function switchableSink() {
  const state = { up: false };
  const sink = await startSink({
    respond: async () => (state.up ? undefined : { status: 503, body: 'down for the test' }),
  });
  sink.state = state;
  return sink;
}

function journalAgent(sink, journalDir, extra = {}, opts = {}) {
  const dir = makeTempDir();
  const config = testConfig(sink.url, {
    storage: { path: journalDir, ...(extra.storage || {}) },
    export: { retry_initial: '200ms', retry_max: '500ms', batch_delay: '50ms', ...(extra.export || {}) },
    ...(extra.rest || {}),
  });
  return startAgent({ dir, config, ...opts });
}

function bodiesWith(sink, tag) {
  return sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
}

function segments(dir, suffix = '.seg') {
  return fs.readdirSync(dir).filter((f) => f.endsWith(suffix)).sort();
}

async function sendAcked(c, tag, from, n, cids = 5) {
  const lines = [];
  for (let i = from; i < from + n; i++) {
    lines.push({ type: 'log', correlation_id: `${tag}-${i % cids}`, body: `${tag}:${i}` });
  }
  c.sendAll(lines);
  const ack = await c.flush(uid('f'));
  assert.equal(ack.accepted, n, 'every record accepted');
  return from + n;
}

/**
 * Starts an agent on `jdir`, sends `rounds` acknowledged rounds of `per` records (bodies
 * "<tag>:<i>[:<pad>]"), and kills it with SIGKILL right after the last ack (no chance to export
 * or tidy up). Returns the number of records acknowledged.
 */
async function ackedThenKilled(sink, jdir, tag, { rounds, per, pad = '', extra = {} }) {
  const a = await journalAgent(sink, jdir, extra);
  try {
    const c = await connect(a.socketPath);
    let sent = 0;
    for (let round = 0; round < rounds; round++) {
      if (pad) {
        const lines = [];
        for (let i = 0; i < per; i++, sent++) lines.push({ type: 'log', correlation_id: `${tag}-${sent % 50}`, body: `${tag}:${sent}:${pad}` });
        c.sendAll(lines);
        assert.equal((await c.flush(uid('f'), 20000)).accepted, per);
      } else {
        sent = await sendAcked(c, tag, sent, per);
      }
    }
    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    c.destroy();
    return sent;
  } finally {
    await a.kill();
  }
}

/** Waits until `sent` distinct bodies of `tag` arrived; returns {unique, duplicates}. */
async function allArrived(sink, tag, sent, ms = 20000) {
  await sink.waitFor((s) => new Set(bodiesWith(s, tag)).size >= sent, ms, `${sent} records of ${tag}`);
  const bodies = bodiesWith(sink, tag);
  const unique = new Set(bodies);
  return { unique: unique.size, duplicates: bodies.length - unique.size };
}

describe('journal', needBinary, () => {
  for (const fsync of ['batch', 'always', 'never']) {
    test(`fsync ${fsync}: kill -9 right after an ack while the backend is down, restart: nothing acknowledged is missing`,
      { timeout: 60000 }, async () => {
        const sink = await switchableSink();
        const jdir = path.join(makeTempDir(), 'journal');
        const tag = uid(`k9${fsync}`);
        let a2;
        try {
          const sent = await ackedThenKilled(sink, jdir, tag, { rounds: 5, per: 200, extra: { storage: { fsync } } });
          assert.equal(bodiesWith(sink, tag).length, 0, 'nothing was delivered before the kill');
          assert.ok(segments(jdir).length >= 1, 'the journal is on disk');

          sink.state.up = true;
          a2 = await journalAgent(sink, jdir, { storage: { fsync } });
          const { unique, duplicates } = await allArrived(sink, tag, sent);
          console.log(`# kill -9 (fsync ${fsync}): ${sent} acknowledged, ${unique} arrived, ${duplicates} duplicates`);
          assert.equal(unique, sent, 'no acknowledged record missing');
          const c2 = await connect(a2.socketPath);
          const st = await c2.stats(uid('s'));
          c2.destroy();
          assert.equal(st.journal.replayed, sent, 'every journaled record was replayed');
          assert.ok(st.export.delivered >= sent, `export.delivered ${st.export.delivered} counts what the sink took`);
          // The same counters reach the backend as the agent's own metrics.
          const latest = (name) => sink.metrics().filter((m) => m.metric.name === name)
            .map((m) => pointValue(m.point)).pop();
          await sink.waitFor(() => latest('spindle.records.replayed') === sent, 5000, 'spindle.records.replayed');
          assert.ok(latest('spindle.journal.used') > 0, 'spindle.journal.used');
          assert.equal(latest('spindle.journal.limit'), 256 * 1024 * 1024, 'spindle.journal.limit');
          for (const [reason, n] of Object.entries(st.dropped)) assert.equal(n, 0, `dropped.${reason}`);
          await a2.waitForStderr(/journal replayed/);
        } finally {
          if (a2) await a2.stop();
          await sink.close();
        }
      });
  }

  test('SIGTERM while the backend is down keeps the undelivered records for the next start; after delivery the journal is emptied',
    { timeout: 60000 }, async () => {
      const sink = await switchableSink();
      const jdir = path.join(makeTempDir(), 'journal');
      const tag = uid('term');
      let a1;
      let a2;
      let a3;
      try {
        a1 = await journalAgent(sink, jdir);
        const c = await connect(a1.socketPath);
        let sent = 0;
        for (let round = 0; round < 3; round++) sent = await sendAcked(c, tag, sent, 100);
        const st1 = await c.stats(uid('s'));
        assert.equal(st1.journal.journaled, sent);
        c.destroy();
        const info = await a1.stop('SIGTERM');
        assert.equal(info.code, 0, 'exit 0 after the drain');
        assert.match(a1.stderr(), /journal kept for the next start/);
        assert.doesNotMatch(a1.stderr(), /reason=shutdown_deadline/, 'nothing counted as dropped: it is in the journal');
        assert.ok(segments(jdir).length >= 1);

        sink.state.up = true;
        a2 = await journalAgent(sink, jdir);
        const { unique } = await allArrived(sink, tag, sent);
        assert.equal(unique, sent, 'no acknowledged record missing');
        // Everything delivered: a clean stop leaves nothing to replay.
        await sleep(300);
        const info2 = await a2.stop('SIGTERM');
        assert.equal(info2.code, 0);
        assert.deepEqual(segments(jdir), [], 'no segment left once everything was delivered');

        const before = bodiesWith(sink, tag).length;
        a3 = await journalAgent(sink, jdir);
        const c3 = await connect(a3.socketPath);
        const st3 = await c3.stats(uid('s'));
        c3.destroy();
        assert.equal(st3.journal.replayed, 0, 'nothing replayed after a clean, delivered stop');
        await sleep(500);
        assert.equal(bodiesWith(sink, tag).length, before, 'no duplicates sent by the third start');
      } finally {
        for (const a of [a1, a2, a3]) if (a) await a.stop();
        await sink.close();
      }
    });

  test('delivered segments are deleted while running', { timeout: 60000 }, async () => {
    const sink = await switchableSink();
    sink.state.up = true;
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('gc');
    let a;
    try {
      a = await journalAgent(sink, jdir, { storage: { max_bytes: '1MiB', segment_bytes: '64KiB' },
        rest: { correlation: { idle_timeout: '300ms', grace_period: '100ms' } } });
      const c = await connect(a.socketPath);
      let sent = 0;
      for (let round = 0; round < 10; round++) sent = await sendAcked(c, tag, sent, 200);
      await allArrived(sink, tag, sent);
      let st;
      for (let i = 0; i < 50; i++) {
        st = await c.stats(uid('s'));
        if (st.journal.segments === 1) break;
        await sleep(100);
      }
      c.destroy();
      assert.ok(st.journal.journaled >= sent);
      assert.equal(st.journal.segments, 1, 'only the active segment is left once everything was delivered');
      assert.equal(segments(jdir).length, 1);
    } finally {
      if (a) await a.stop();
      await sink.close();
    }
  });

  test('journal full: the oldest data goes first, counted journal_full; the newest arrives', { timeout: 60000 }, async () => {
    const sink = await switchableSink();
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('full');
    let a;
    try {
      a = await journalAgent(sink, jdir, {
        storage: { max_bytes: '512KiB', segment_bytes: '64KiB' },
        export: { retry_initial: '5s', retry_max: '5s', batch_max_items: 20 },
      });
      const c = await connect(a.socketPath);
      const pad = 'x'.repeat(900);
      let sent = 0;
      for (let round = 0; round < 20; round++) {
        const lines = [];
        for (let i = 0; i < 100; i++, sent++) {
          lines.push({ type: 'log', correlation_id: `${tag}-${sent % 3}`, body: `${tag}:${sent}:${pad}` });
        }
        c.sendAll(lines);
        await c.flush(uid('f'));
      }
      const st = await c.stats(uid('s'));
      assert.ok(st.journal.bytes <= 512 * 1024 + 64 * 1024, `journal within its bound (${st.journal.bytes})`);
      assert.ok(st.dropped.journal_full > 0, 'the journal filled and dropped its oldest data');
      sink.state.up = true;
      const expect = sent - st.dropped.journal_full;
      await sink.waitFor((s) => new Set(bodiesWith(s, tag)).size >= expect, 30000, `${expect} records`);
      await sleep(500);
      const got = new Set(bodiesWith(sink, tag).map((b) => Number(b.split(':')[1])));
      const st2 = await c.stats(uid('s'));
      c.destroy();
      const missing = [];
      for (let i = 0; i < sent; i++) if (!got.has(i)) missing.push(i);
      console.log(`# journal full: ${sent} sent, ${got.size} arrived, ${missing.length} missing, journal_full=${st2.dropped.journal_full}`);
      assert.equal(missing.length, st2.dropped.journal_full, 'every missing record is counted journal_full');
      // Exactly the oldest: the missing records are 0..k-1, and every later one arrived.
      assert.deepEqual(missing, Array.from({ length: missing.length }, (_, i) => i),
        'the missing records are a prefix of what was sent');
      // What a full journal keeps arrives: at least the last three quarters of its size.
      assert.ok(got.size * 1000 >= 0.75 * 512 * 1024, `${got.size} records arrived from a 512KiB journal`);
    } finally {
      if (a) await a.stop();
      await sink.close();
    }
  });

  test('a damaged entry and a torn tail: spindle starts, replays the rest, counts the loss, sets the segment aside',
    { timeout: 60000 }, async () => {
      const sink = await switchableSink();
      const jdir = path.join(makeTempDir(), 'journal');
      const tag = uid('dmg');
      let a2;
      try {
        const sent = await ackedThenKilled(sink, jdir, tag, { rounds: 1, per: 50 });
        const segs = segments(jdir);
        assert.equal(segs.length, 1);
        const file = path.join(jdir, segs[0]);
        const buf = fs.readFileSync(file);
        // Flip one byte inside record 17's line.
        const at = buf.indexOf(Buffer.from(`${tag}:17"`));
        assert.ok(at > 0, 'record 17 is in the segment');
        buf[at + 3] ^= 0x20;
        // A torn tail: an entry whose write never finished (its header and part of its line).
        const torn = Buffer.alloc(30, 0x41);
        torn.writeUInt32LE(0x314a5053, 0);
        torn.writeUInt32LE(500, 4);
        fs.writeFileSync(file, Buffer.concat([buf, torn]));

        sink.state.up = true;
        a2 = await journalAgent(sink, jdir);
        await sink.waitFor((s) => new Set(bodiesWith(s, tag)).size >= sent - 1, 20000);
        const got = new Set(bodiesWith(sink, tag).map((b) => Number(b.split(':')[1])));
        assert.equal(got.size, sent - 1, 'every intact record was replayed');
        assert.ok(!got.has(17), 'the damaged record was not delivered as if intact');
        const c2 = await connect(a2.socketPath);
        const st = await c2.stats(uid('s'));
        c2.destroy();
        assert.equal(st.dropped.journal_corrupt, 1, 'the damaged entry is counted');
        assert.equal(st.journal.torn_tails, 1, 'the torn tail is counted');
        assert.equal(st.journal.segments_set_aside, 1, 'the damaged segment was set aside');
        assert.equal(st.journal.replayed, sent - 1);
        assert.match(a2.stderr(), /torn entry; truncating/);
        assert.match(a2.stderr(), /damaged entries/);
        assert.equal(segments(jdir, '.corrupt').length, 1, 'the damaged segment is kept aside for inspection');
      } finally {
        if (a2) await a2.stop();
        await sink.close();
      }
    });

  // Segments whose header is garbage are set aside whole: an easy way to make many of them.
  function plantDamaged(jdir, seqs) {
    fs.mkdirSync(jdir, { recursive: true });
    for (const seq of seqs) {
      fs.writeFileSync(path.join(jdir, `${seq.toString(16).padStart(16, '0')}.seg`), Buffer.alloc(1000 + seq % 97, 0x5a));
    }
  }
  function folderBytes(jdir) {
    return fs.readdirSync(jdir).filter((f) => /\.seg(\.corrupt)?$/.test(f))
      .reduce((sum, f) => sum + fs.statSync(path.join(jdir, f)).size, 0);
  }
  async function statsWhen(c, pred, what) {
    let st;
    for (let i = 0; i < 100; i++) {
      st = await c.stats(uid('s'));
      if (pred(st)) return st;
      await sleep(50);
    }
    assert.fail(`${what}: ${JSON.stringify(st.journal)}`);
  }

  test('set-aside segments: the newest 8 are kept, over several starts, and their bytes count', { timeout: 60000 }, async () => {
    const sink = await switchableSink();
    sink.state.up = true;
    const jdir = path.join(makeTempDir(), 'journal');
    const planted = [];
    try {
      for (const [round, n] of [[1, 12], [2, 5], [3, 5]]) {
        const seqs = Array.from({ length: n }, (_, i) => round * 0x1000 + i);
        planted.push(...seqs);
        plantDamaged(jdir, seqs);
        const a = await journalAgent(sink, jdir);
        try {
          const c = await connect(a.socketPath);
          const st = await statsWhen(c, (x) => x.journal.segments_set_aside === n && x.journal.segments === 1,
            `round ${round}: ${n} set aside`);
          const aside = segments(jdir, '.corrupt');
          assert.ok(aside.length <= 8, `round ${round}: ${aside.length} set-aside files (at most 8)`);
          assert.deepEqual(aside, planted.slice(-8).map((q) => `${q.toString(16).padStart(16, '0')}.seg.corrupt`),
            `round ${round}: the newest 8 are kept`);
          assert.equal(st.journal.bytes, folderBytes(jdir), `round ${round}: journal.bytes counts the set-aside files`);
          c.destroy();
        } finally {
          await a.stop();
        }
      }
    } finally {
      await sink.close();
    }
  });

  test('set-aside segments count in storage.max_bytes: they go (oldest first) before undelivered data', { timeout: 60000 }, async () => {
    const sink = await switchableSink(); // down: nothing is delivered, so nothing leaves the journal by itself
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('aside');
    let a;
    try {
      fs.mkdirSync(jdir, { recursive: true });
      const seqs = [1, 2, 3, 4, 5, 6];
      for (const seq of seqs) {
        fs.writeFileSync(path.join(jdir, `${seq.toString(16).padStart(16, '0')}.seg`), Buffer.alloc(60 * 1024, 0x5a));
      }
      a = await journalAgent(sink, jdir, { storage: { max_bytes: '256KiB', segment_bytes: '64KiB' } });
      const c = await connect(a.socketPath);
      await statsWhen(c, (x) => x.journal.segments_set_aside === 6, 'six set aside');
      const sent = await sendAcked(c, tag, 0, 20);
      const st = await c.stats(uid('s'));
      c.destroy();
      assert.ok(st.journal.bytes <= 256 * 1024, `journal.bytes ${st.journal.bytes} within storage.max_bytes`);
      assert.equal(st.journal.bytes, folderBytes(jdir));
      assert.equal(st.dropped.journal_full, 0, 'no undelivered record made room for inspection copies');
      const aside = segments(jdir, '.corrupt');
      assert.ok(aside.length < 6, 'set-aside files were deleted to stay within the bound');
      assert.deepEqual(aside, seqs.slice(-aside.length).map((q) => `${q.toString(16).padStart(16, '0')}.seg.corrupt`),
        'the oldest went first');
      sink.state.up = true;
      assert.equal((await allArrived(sink, tag, sent)).unique, sent);
    } finally {
      if (a) await a.stop();
      await sink.close();
    }
  });

  test('a crash while a damaged segment is replayed loses nothing: it is set aside only once its intact entries are durable again',
    { timeout: 60000 }, async () => {
      const sink = await switchableSink();
      const jdir = path.join(makeTempDir(), 'journal');
      const tag = uid('dmg2');
      let a2;
      let a3;
      try {
        const sent = await ackedThenKilled(sink, jdir, tag, { rounds: 6, per: 500 });
        const file = path.join(jdir, segments(jdir)[0]);
        const buf = fs.readFileSync(file);
        const at = buf.indexOf(Buffer.from(`${tag}:1234"`));
        assert.ok(at > 0);
        buf[at + 2] ^= 0x01;
        fs.writeFileSync(file, buf);
        // Second start, backend still down: killed the moment replay ends.
        a2 = await journalAgent(sink, jdir);
        await a2.waitForStderr(/journal replayed/, 10000);
        process.kill(a2.pid, 'SIGKILL');
        await a2.exited;
        // Third start, backend up: every intact record arrives.
        sink.state.up = true;
        a3 = await journalAgent(sink, jdir);
        const { unique } = await allArrived(sink, tag, sent - 1);
        assert.equal(unique, sent - 1, 'every intact acknowledged record arrived');
        assert.ok(!new Set(bodiesWith(sink, tag)).has(`${tag}:1234`), 'the damaged one did not');
      } finally {
        if (a2) await a2.kill();
        if (a3) await a3.stop();
        await sink.close();
      }
    });

  test('replay with a small memory budget and full-size segments completes', { timeout: 60000 }, async () => {
    const sink = await switchableSink();
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('mem');
    let a2;
    try {
      const extra = { rest: { limits: { max_memory: '8MiB' } } };
      const sent = await ackedThenKilled(sink, jdir, tag, { rounds: 10, per: 1000, pad: 'm'.repeat(700), extra });
      sink.state.up = true;
      a2 = await journalAgent(sink, jdir, extra);
      await sink.waitFor((s) => new Set(bodiesWith(s, tag).map((b) => b.split(':')[1])).size >= sent, 40000,
        `${sent} records replayed through an 8 MiB budget`);
      const c2 = await connect(a2.socketPath);
      const st = await c2.stats(uid('s'));
      c2.destroy();
      assert.equal(st.journal.replayed, sent);
    } finally {
      if (a2) await a2.stop();
      await sink.close();
    }
  });

  test('many segments between flushes (fsync batch) do not pile up descriptors', { timeout: 60000 }, async () => {
    const sink = await switchableSink();
    sink.state.up = true;
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('fds');
    let a;
    try {
      a = await journalAgent(sink, jdir, { storage: { segment_bytes: '64KiB', max_bytes: '64MiB' } },
        { prefix: ['prlimit', '--nofile=64'] });
      const c = await connect(a.socketPath);
      const pad = 'f'.repeat(500);
      let sent = 0;
      const lines = [];
      for (let i = 0; i < 6000; i++, sent++) lines.push({ type: 'log', correlation_id: `${tag}-${i % 5}`, body: `${tag}:${i}:${pad}` });
      c.sendAll(lines); // ~3.5 MiB, ~55 segments, no flush in between
      const ack = await c.flush(uid('f'), 20000);
      assert.equal(ack.accepted, sent);
      const st = await c.stats(uid('s'));
      c.destroy();
      assert.ok(st.journal.journaled >= sent);
      assert.doesNotMatch(a.stderr(), /Too many open files|cannot start a journal segment/);
      const fds = fs.readdirSync(`/proc/${a.pid}/fd`).length;
      assert.ok(fds < 40, `${fds} descriptors open`);
    } finally {
      if (a) await a.stop();
      await sink.close();
    }
  });

  test('an ack waits for the journal: when the journal cannot be written, no ack is sent', { timeout: 30000 }, async () => {
    const sink = await switchableSink();
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('efbig');
    let a;
    try {
      // Files may not grow past 64 KiB: the journal's writes fail (EFBIG) past that.
      a = await journalAgent(sink, jdir, {}, { prefix: ['prlimit', '--fsize=65536'] });
      const c = await connect(a.socketPath);
      await sendAcked(c, tag, 0, 10); // fits: acknowledged
      const pad = 'y'.repeat(1000);
      const lines = [];
      for (let i = 0; i < 100; i++) lines.push({ type: 'log', correlation_id: tag, body: `${tag}:${i}:${pad}` });
      c.sendAll(lines);
      await assert.rejects(c.flush(uid('f'), 2000), /flush ack/, 'no ack for records the journal could not write');
      await a.waitForStderr(/cannot write the journal; acks wait/);
      // Asked on another connection: on this one, replies come in order, behind the waiting ack.
      const c2 = await connect(a.socketPath);
      const st = await c2.stats(uid('s'));
      assert.equal(st.records.accepted, 110, 'the records were accepted (and wait in memory)');
      assert.ok(fs.statSync(path.join(jdir, segments(jdir)[0])).size <= 65536);
      c.destroy();
      c2.destroy();
    } finally {
      if (a) await a.kill();
      await sink.close();
    }
  });

  test('a second agent on the same journal folder is refused with a clear message', { timeout: 20000 }, async () => {
    const sink = await switchableSink();
    const jdir = path.join(makeTempDir(), 'journal');
    let a;
    try {
      a = await journalAgent(sink, jdir);
      const dir = makeTempDir();
      const r = await runSpindle(['--socket', path.join(dir, 's.sock'), '--storage-path', jdir,
        '--otlp-endpoint', sink.url]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /another spindle is using this journal folder/);
    } finally {
      if (a) await a.stop();
      await sink.close();
    }
  });

  test('a segment written before journal entries carried a codec tag (spindle 0.1.0) replays in full', { timeout: 30000 }, async () => {
    // fixtures/journal-v1: what 0.1.0 left after an ack and kill -9 with its backend down
    // ("SPJ1" entries): a checkout workflow, a log, a span and a counter of correlation id
    // v1-order-1.
    const sink = await startSink();
    const jdir = path.join(makeTempDir(), 'journal');
    fs.mkdirSync(jdir);
    fs.copyFileSync(path.join(__dirname, 'fixtures/journal-v1/0000000000000001.seg'),
      path.join(jdir, '0000000000000001.seg'));
    const a = await journalAgent(sink, jdir);
    try {
      await sink.waitFor((s) => s.spans().some((x) => x.span.name === 'checkout'), 15000, 'the workflow span');
      const log = sink.logs().find((l) => String(l.log.body) === 'journaled by spindle 0.1.0 before codec tags');
      assert.ok(log, 'the log record replayed');
      const charge = sink.spans().find((x) => x.span.name === 'POST /v1/charges');
      assert.ok(charge, 'the span replayed');
      const wf = sink.spans().find((x) => x.span.name === 'checkout');
      assert.equal(charge.span.traceId, wf.span.traceId, 'in the workflow\'s trace');
      assert.equal(log.log.traceId, wf.span.traceId, 'the log too');
      await sink.waitFor((s) => s.metrics().some((m) => m.metric.name === 'orders.charged'), 15000, 'the counter');
      const pt = sink.metrics().filter((m) => m.metric.name === 'orders.charged').pop();
      assert.equal(pointValue(pt.point), 3);
      const st = await (await connect(a.socketPath)).stats(uid('s'));
      assert.equal(st.journal.replayed, 5, 'five records replayed');
      assert.equal(st.dropped.journal_corrupt, 0, 'none taken for damage');
    } finally {
      await a.stop();
      await sink.close();
    }
  });

  test('a record too long for one journal entry is too_large, the longest that fits is journaled and replayed', { timeout: 60000 }, async () => {
    // A journal entry's length has 24 bits and a socket record carries a 12-byte peer prefix:
    // at most 16 MiB - 13 bytes. socket.max_record_bytes may say 16 MiB. (At exactly 16 MiB
    // the length once spilled into the codec byte; one byte over the entry it was acked
    // without being journaled.)
    const sink = await startSink({ respond: () => ({ status: 503 }) });
    const jdir = path.join(makeTempDir(), 'journal');
    const tag = uid('long');
    const line = (len, k) => {
      const head = `{"type":"log","correlation_id":"${tag}","body":"${tag}:${k}:`;
      return `${head}${'x'.repeat(len - head.length - 2)}"}`;
    };
    const fits = 16 * 1024 * 1024 - 13;
    let a = await journalAgent(sink, jdir, { rest: { socket: { max_record_bytes: '16MiB' } } });
    let b;
    const sink2 = await startSink();
    try {
      const c = await connect(a.socketPath);
      assert.equal(line(fits + 1, 'over').length, fits + 1);
      await c.send(`${line(fits + 1, 'over')}\n`);
      await c.send(`${line(fits, 'fits')}\n`);
      const ack = await c.flush(uid('f'), 30000);
      assert.equal(ack.rejected, 1, JSON.stringify(ack));
      assert.equal(ack.first_error, 'too_large');
      assert.equal(ack.accepted, 1);
      c.destroy();
      await a.kill();
      b = await journalAgent(sink2, jdir, { rest: { socket: { max_record_bytes: '16MiB' } } });
      await sink2.waitFor((s) => bodiesWith(s, tag).some((x) => x.startsWith(`${tag}:fits:`)), 30000, 'the longest record, replayed');
      const c2 = await connect(b.socketPath);
      const st = await c2.stats();
      c2.destroy();
      assert.equal(st.journal.segments_set_aside, 0, 'no segment set aside');
      assert.equal(bodiesWith(sink2, tag).filter((x) => x.startsWith(`${tag}:over:`)).length, 0);
    } finally {
      await a.stop();
      if (b) await b.stop();
      await sink.close();
      await sink2.close();
    }
  });
});
