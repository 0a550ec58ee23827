'use strict';
// 413 (payload too large): the request is halved and both halves are sent, down to what the
// backend accepts; a single record the backend still refuses is dropped and counted.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { setup, needBinary } = require('./lib/harness');
const { uid } = require('./lib/util');

const logsIn = (body) => body.resourceLogs.flatMap((rl) => rl.scopeLogs.flatMap((sl) => sl.logRecords));

describe('413 splitting', needBinary, () => {
  for (const compression of ['gzip', 'none']) {
    test(`a 40-log batch against a backend that takes at most 10 (${compression})`, { timeout: 20000 }, async () => {
      const h = await setup({
        sinkOpts: {
          respond: async (req) => {
            if (req.signal !== 'logs' || !req.body) return undefined;
            return logsIn(req.body).length > 10 ? { status: 413, body: 'too large' } : undefined;
          },
        },
        config: { export: { batch_max_items: 40, batch_delay: '100ms' }, otlp: { compression } },
      });
      try {
        const c = await h.connect();
        const tag = uid('split');
        for (let i = 0; i < 40; i++) c.send({ type: 'log', correlation_id: `${tag}-${i % 3}`, body: `${tag}:${i}` });
        await c.flush(uid('f'));
        await h.sink.waitFor((s) => s.logs().filter((l) => String(l.log.body).startsWith(`${tag}:`)).length >= 40, 8000);
        const got = h.sink.logs().map((l) => String(l.log.body)).filter((b) => b.startsWith(`${tag}:`));
        assert.equal(new Set(got).size, 40, 'every record delivered');
        assert.equal(got.length, 40, 'none twice');
        const sizes = h.sink.requestsFor('logs').map((r) => logsIn(r.body).length);
        assert.equal(sizes[0], 40, 'the first attempt carried the whole batch');
        assert.ok(sizes.filter((n, i) => h.sink.requestsFor('logs')[i].status === 200).every((n) => n <= 10));
        const st = await c.stats(uid('s'));
        assert.ok(st.export.splits >= 3, `halved 40 -> 20+20 -> 10+10+10+10 (${st.export.splits} splits)`);
        assert.equal(st.dropped.non_retryable, 0);
      } finally {
        await h.close();
      }
    });
  }

  test('traces and a single metric with many data points are halved too', { timeout: 20000 }, async () => {
    const spansIn = (b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans));
    const pointsIn = (b) => b.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((x) =>
      x.metrics.flatMap((m) => (m.gauge || m.sum || m.histogram).dataPoints)));
    const h = await setup({
      sinkOpts: {
        respond: async (req) => {
          if (!req.body) return undefined;
          if (req.signal === 'traces' && spansIn(req.body).length > 3) return { status: 413 };
          if (req.signal === 'metrics' && pointsIn(req.body).length > 3) return { status: 413 };
          return undefined;
        },
      },
      config: { export: { batch_max_items: 100, batch_delay: '100ms' }, metrics: { interval: '300ms' } },
    });
    try {
      const c = await h.connect();
      const tag = uid('split2');
      const now = Date.now() / 1000;
      for (let i = 0; i < 12; i++) c.send({ type: 'span', correlation_id: `${tag}-${i}`, name: `${tag}:${i}`, start: now - 1, end: now });
      // One metric name, 12 series: one Metric with 12 data points.
      for (let i = 0; i < 12; i++) c.send({ type: 'metric', name: `${tag}.m`, kind: 'gauge', value: i, attributes: { series: i } });
      await c.flush(uid('f'));
      await h.sink.waitFor((s) => s.spans().filter((x) => x.span.name.startsWith(`${tag}:`)).length >= 12, 8000);
      await h.sink.waitFor((s) => new Set(s.metrics().filter((m) => m.metric.name === `${tag}.m`)
        .map((m) => String(m.point.attributes.series))).size >= 12, 8000);
      const names = h.sink.spans().map((x) => x.span.name).filter((n) => n.startsWith(`${tag}:`));
      assert.equal(new Set(names).size, 12, 'every span delivered');
      const st = await c.stats(uid('s'));
      assert.equal(st.dropped.non_retryable, 0);
      assert.ok(st.export.splits >= 4);
    } finally {
      await h.close();
    }
  });

  test('a single record the backend always refuses as too large is dropped and counted', { timeout: 20000 }, async () => {
    const h = await setup({
      sinkOpts: { respond: async (req) => (req.signal === 'logs' ? { status: 413, body: 'no' } : undefined) },
      config: { export: { batch_max_items: 4, batch_delay: '100ms' } },
    });
    try {
      const c = await h.connect();
      for (let i = 0; i < 4; i++) c.send({ type: 'log', correlation_id: uid('one'), body: `x${i}` });
      await c.flush(uid('f'));
      await h.sink.waitFor((s) => s.requestsFor('logs').length >= 7, 8000); // 4 -> 2+2 -> 1+1+1+1
      let st;
      for (let i = 0; i < 50; i++) {
        st = await c.stats(uid('s'));
        if (st.dropped.non_retryable >= 4) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(st.dropped.non_retryable, 4, 'the four single-record requests are dropped, counted');
      assert.equal(st.export.splits, 3);
    } finally {
      await h.close();
    }
  });
});
