'use strict';
// spindle's id derivation, computed independently with node:crypto.
//   trace_id      = SHA-256("spindle/v1/trace\0" + correlation_id)[0:16]
//   workflow span = SHA-256("spindle/v1/workflow\0" + correlation_id)[0:8]
//   invocation    = SHA-256("spindle/v1/invocation\0" + correlation_id + "\0" + invocation_id)[0:8]
// An all-zero result gets its last byte set to 0x01.

const crypto = require('node:crypto');

function derive(input, n) {
  const b = Buffer.from(crypto.createHash('sha256').update(Buffer.from(input, 'utf8')).digest().subarray(0, n));
  if (b.every((x) => x === 0)) b[n - 1] = 1;
  return b.toString('hex');
}

const traceIdFor = (cid) => derive(`spindle/v1/trace\0${cid}`, 16);
const workflowSpanIdFor = (cid) => derive(`spindle/v1/workflow\0${cid}`, 8);
const invocationSpanIdFor = (cid, inv) => derive(`spindle/v1/invocation\0${cid}\0${inv}`, 8);

/** Random lowercase hex of n bytes (never all zero). */
function randomHex(n) {
  for (;;) {
    const b = crypto.randomBytes(n);
    if (b.some((x) => x !== 0)) return b.toString('hex');
  }
}

function traceparent(traceId = randomHex(16), parentId = randomHex(8), flags = '01') {
  return { header: `00-${traceId}-${parentId}-${flags}`, traceId, parentId };
}

module.exports = { traceIdFor, workflowSpanIdFor, invocationSpanIdFor, randomHex, traceparent, derive };
