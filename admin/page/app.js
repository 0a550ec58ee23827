'use strict';
// spindle's status page: polls the JSON API (docs/api.md) once a second.
(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  };
  let selected = null;
  let status = null;

  async function getJSON(path) {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok && res.status !== 404) throw new Error(`${path}: ${res.status}`);
    return res.status === 404 ? null : res.json();
  }
  const fmtNum = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n));
  const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
  const fmtAge = (s) => (s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`);
  const fmtDur = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`);

  function renderStatus(s) {
    status = s;
    const st = s.stats;
    $('version').textContent = `v${s.version} · up ${fmtAge(s.uptime_s)}`;
    const r = $('ready');
    r.textContent = s.ready ? 'ready' : 'not ready';
    r.className = `badge ${s.ready ? 'ok' : 'bad'}`;
    $('reason').textContent = s.ready ? '' : s.reason;
    const queued = s.exporters.reduce((a, e) => a + e.queues.reduce((b, q) => b + q.bytes, 0), 0);
    const cards = [
      ['records accepted', fmtNum(st.records.accepted)],
      ['records rejected', fmtNum(st.records.rejected), st.records.rejected > 0],
      ['records dropped', fmtNum(s.dropped_total), s.dropped_total > 0],
      ['workflows open', fmtNum(st.workflows.open)],
      ['workflows closed', fmtNum(st.workflows.closed)],
      ['spans exported', fmtNum(st.export.spans)],
      ['export failures', fmtNum(st.export.requests_failed), st.export.requests_failed > 0],
      ['queued for export', fmtBytes(queued)],
      [`memory (of ${fmtBytes(s.memory_limit_bytes)})`, fmtBytes(st.memory.used_bytes)],
      ['alerts firing', fmtNum(st.alerts.firing), st.alerts.firing > 0],
    ];
    const c = $('cards');
    c.replaceChildren(...cards.map(([k, v, warn]) => el('div', { class: `card${warn ? ' warn' : ''}` }, el('div', { class: 'v' }, v), el('div', { class: 'k' }, k))));
  }

  function renderAlerts(a) {
    const body = $('alerts').tBodies[0];
    body.replaceChildren(...a.alerts.map((x) => el('tr', null,
      el('td', null, x.alertname),
      el('td', { class: `alert-${x.state}` }, x.state),
      el('td', null, x.severity),
      el('td', { class: 'cid' }, x.key || '(agent)'),
      el('td', null, x.summary),
      el('td', null, x.since_ms ? new Date(x.since_ms).toLocaleTimeString() : ''),
      el('td', null, x.trace_url ? el('a', { href: x.trace_url, target: '_blank', rel: 'noopener' }, 'trace') : ''))));
    $('alerts').hidden = a.alerts.length === 0;
    $('no-alerts').hidden = a.alerts.length > 0;
    const firing = a.alerts.filter((x) => x.state === 'firing').length;
    $('alert-count').textContent = a.alerts.length ? `${firing} firing, ${a.alerts.length - firing} pending` : '';
  }

  function renderWorkflows(w) {
    const body = $('workflows').tBodies[0];
    body.replaceChildren(...w.workflows.map((x) => {
      const tr = el('tr', { class: `${x.error ? 'failed' : ''}${x.correlation_id === selected ? ' sel' : ''}`, 'data-cid': x.correlation_id, onclick: () => select(x.correlation_id) },
        el('td', { class: 'cid' }, x.correlation_id),
        el('td', null, x.name || ''),
        el('td', { class: `state-${x.state}` }, x.state),
        el('td', { class: 'num' }, x.invocations),
        el('td', { class: 'num' }, x.cold_starts),
        el('td', { class: 'num' }, x.retries),
        el('td', { class: 'num' }, x.dead_letters),
        el('td', { class: 'num' }, fmtAge(x.age_s)));
      return tr;
    }));
    $('workflows').hidden = w.workflows.length === 0;
    $('no-workflows').hidden = w.workflows.length > 0;
    $('wf-count').textContent = w.matched > w.workflows.length ? `${w.workflows.length} of ${w.matched}` : `${w.matched}`;
  }

  const evKind = (name) => (/dead.?letter/.test(name) ? 'dlq' : /retry/.test(name) ? 'retry' : /throttl/.test(name) ? 'throttle' : 'other');

  function renderWaterfall(d) {
    const wf = d.workflow;
    const wrap = $('waterfall');
    $('wf-title').replaceChildren(`Waterfall: ${wf.name || 'workflow'} `, el('span', { class: 'cid muted' }, wf.correlation_id));
    const meta = [`${wf.state}`, `trace ${wf.trace_id}`, `${wf.invocations} invocations`];
    if (wf.cold_starts) meta.push(`${wf.cold_starts} cold start${wf.cold_starts > 1 ? 's' : ''}`);
    if (wf.retries) meta.push(`${wf.retries} retr${wf.retries > 1 ? 'ies' : 'y'}`);
    if (wf.dead_letters) meta.push(`${wf.dead_letters} dead letter${wf.dead_letters > 1 ? 's' : ''}`);
    const m = $('wf-meta');
    m.replaceChildren(meta.join(' · '));
    if (wf.trace_url) { m.append(' · '); m.append(el('a', { href: wf.trace_url, target: '_blank', rel: 'noopener', id: 'trace-link' }, 'open trace')); }
    if (wf.detail === false) m.append(el('div', null, 'It closed before anyone watched this agent: only its counts were kept (docs/api.md).'));
    // Time range: every start, end and event.
    const times = [];
    const push = (t) => { if (typeof t === 'number') times.push(t); };
    push(wf.start_ms); push(wf.end_ms);
    for (const iv of wf.invocations_seen || []) { push(iv.start_ms); push(iv.end_ms); for (const e of iv.events) push(e.time_ms); }
    for (const s of wf.spans_seen || []) { push(s.start_ms); push(s.end_ms); }
    for (const e of wf.events || []) push(e.time_ms);
    const t0 = Math.min(...times);
    let t1 = Math.max(...times);
    if (!(t1 > t0)) t1 = t0 + 1;
    const pct = (t) => `${(((t - t0) / (t1 - t0)) * 100).toFixed(3)}%`;
    const bar = (cls, a, b, title) => el('div', { class: `bar ${cls}`, title, style: `left:${pct(a)};width:calc(${pct(b)} - ${pct(a)})` });
    const mark = (e) => el('div', { class: `mark ${evKind(e.name)}`, title: `${e.name} at +${fmtDur(e.time_ms - t0)}`, style: `left:${pct(e.time_ms)}` });
    const rows = [];
    const row = (cls, label, track) => el('div', { class: `wrow ${cls}` }, label, el('div', { class: 'wtrack' }, ...track));
    rows.push(el('div', { class: 'axis' }, el('span', null, '0'), el('span', null, fmtDur(t1 - t0))));
    const wfEnd = wf.state === 'open' ? t1 : (wf.end_ms || t1);
    rows.push(row('r-workflow', el('div', { class: 'wlabel', title: wf.name }, el('b', null, wf.name || 'workflow'), ...(wf.dead_letters ? [el('span', { class: 'tag dlq' }, 'dead letter')] : [])),
      [bar(`wf${wf.error ? ' err' : ''}${wf.state === 'open' ? ' open' : ''}`, wf.start_ms || t0, wfEnd, `workflow ${fmtDur(wfEnd - (wf.start_ms || t0))}`), ...(wf.events || []).map(mark)]));
    // The API lists the newest first: reversed, then by start (ties keep arrival order).
    const invs = [...(wf.invocations_seen || [])].reverse().sort((a, b) => (a.start_ms || 0) - (b.start_ms || 0));
    for (const iv of invs) {
      const tags = [];
      if (iv.cold_start) tags.push(el('span', { class: 'tag cold' }, 'cold start'));
      if (iv.attempt > 1) tags.push(el('span', { class: 'tag retry' }, `retry #${iv.attempt}`));
      if (iv.events.some((e) => evKind(e.name) === 'dlq')) tags.push(el('span', { class: 'tag dlq' }, 'dead letter'));
      if (iv.status === 'error' || iv.status === 'timeout') tags.push(el('span', { class: 'tag err' }, iv.status));
      const end = iv.ended ? iv.end_ms : t1;
      rows.push(row('r-invocation', el('div', { class: 'wlabel l1', title: `${iv.function} ${iv.invocation_id}` }, iv.function || iv.invocation_id, ...tags),
        [bar(`inv${iv.status === 'error' || iv.status === 'timeout' ? ' err' : ''}${iv.ended ? '' : ' open'}`, iv.start_ms, end, `${iv.function} ${fmtDur(end - iv.start_ms)}`), ...iv.events.map(mark)]));
      for (const s of (wf.spans_seen || []).filter((x) => x.invocation_id && x.invocation_id === iv.invocation_id)) {
        rows.push(row('r-span', el('div', { class: 'wlabel l2', title: s.name }, s.name), [bar(`span${s.status === 'error' ? ' err' : ''}`, s.start_ms, s.end_ms, `${s.name} ${fmtDur(s.end_ms - s.start_ms)}`)]));
      }
    }
    const ids = new Set(invs.map((x) => x.invocation_id));
    for (const s of (wf.spans_seen || []).filter((x) => !x.invocation_id || !ids.has(x.invocation_id))) {
      rows.push(row('r-span', el('div', { class: 'wlabel l1', title: s.name }, s.name), [bar(`span${s.status === 'error' ? ' err' : ''}`, s.start_ms, s.end_ms, `${s.name} ${fmtDur(s.end_ms - s.start_ms)}`)]));
    }
    wrap.replaceChildren(...rows);
    $('legend').hidden = false;
  }

  async function refreshDetail() {
    if (!selected) return;
    const d = await getJSON(`/api/v1/workflows/${encodeURIComponent(selected)}`);
    if (d) renderWaterfall(d);
    else $('wf-meta').textContent = `${selected}: no longer remembered by this agent.`;
  }

  function select(cid) {
    selected = cid;
    for (const tr of $('workflows').tBodies[0].rows) tr.classList.toggle('sel', tr.dataset.cid === cid);
    refreshDetail().catch(() => {});
  }

  async function tick() {
    try {
      const q = new URLSearchParams({ limit: '200' });
      if ($('filter').value) q.set('q', $('filter').value);
      if ($('state').value) q.set('state', $('state').value);
      if ($('errors').checked) q.set('error', 'true');
      const [s, w, a] = await Promise.all([getJSON('/api/v1/status'), getJSON(`/api/v1/workflows?${q}`), getJSON('/api/v1/alerts')]);
      renderStatus(s);
      renderWorkflows(w);
      renderAlerts(a);
      await refreshDetail();
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      $('ready').textContent = 'unreachable';
      $('ready').className = 'badge bad';
      $('reason').textContent = String(e.message || e);
    }
  }
  for (const id of ['filter', 'state', 'errors']) $(id).addEventListener('input', tick);
  tick();
  setInterval(tick, 1000);
}());
