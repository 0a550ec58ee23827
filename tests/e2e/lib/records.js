'use strict';
// Builders for protocol v1 records (plain objects; the client JSON-encodes them).

const { nowSec } = require('./util');

const event = (cid, name, extra = {}) => ({ type: 'event', name, correlation_id: cid, ts: nowSec(), ...extra });

const workflowStart = (cid, extra = {}) => event(cid, 'workflow_start', extra);
const workflowEnd = (cid, extra = {}) => event(cid, 'workflow_end', extra);
const invocationStart = (cid, inv, extra = {}) => event(cid, 'invocation_start', { invocation_id: inv, ...extra });
const invocationEnd = (cid, inv, extra = {}) => event(cid, 'invocation_end', { invocation_id: inv, status: 'ok', ...extra });

/** A span record that started 50 ms ago and ended now (override with extra). */
function span(cid, name, extra = {}) {
  const end = nowSec();
  return { type: 'span', correlation_id: cid, name, start: end - 0.05, end, ...extra };
}

const log = (cid, body, extra = {}) => ({ type: 'log', correlation_id: cid, body, ts: nowSec(), ...extra });

const metric = (name, kind, value, extra = {}) => ({ type: 'metric', name, kind, value, ts: nowSec(), ...extra });

module.exports = { event, workflowStart, workflowEnd, invocationStart, invocationEnd, span, log, metric };
