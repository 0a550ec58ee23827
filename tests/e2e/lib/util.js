'use strict';
// Small helpers shared by the e2e tests: bounded waits, temp dirs, YAML text.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects after `ms` with `what` in the message unless `promise` settles first. */
function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `pred()` (sync or async) every `intervalMs` until it returns a truthy value, which is
 * returned. Rejects after `timeoutMs`; `describe()` (optional) adds context to the error.
 */
async function waitUntil(pred, { timeoutMs = 5000, intervalMs = 20, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
      lastErr = undefined;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      let msg = `timed out after ${timeoutMs} ms waiting for ${what}`;
      if (lastErr) msg += `; last error: ${lastErr.message}`;
      if (describe) {
        try { msg += `\n${describe()}`; } catch (_) { /* ignore */ }
      }
      throw new Error(msg);
    }
    await sleep(intervalMs);
  }
}

const tmpDirs = new Set();

/** A fresh directory under os.tmpdir(), removed at process exit (unless SPINDLE_E2E_KEEP_TMP). */
function makeTempDir(prefix = 'spindle-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.add(dir);
  return dir;
}

function removeTempDirs() {
  if (process.env.SPINDLE_E2E_KEEP_TMP) return;
  for (const dir of tmpDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch (_) { /* ignore */ }
  }
  tmpDirs.clear();
}
process.on('exit', removeTempDirs);

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Deep merge of plain objects (b wins); arrays and scalars are replaced. */
function merge(a, b) {
  if (!isPlainObject(a) || !isPlainObject(b)) return b === undefined ? a : b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = k in a ? merge(a[k], v) : v;
  }
  return out;
}

function yamlScalar(v) {
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (v === null) return 'null';
  // A JSON string literal is a valid YAML double-quoted scalar.
  return JSON.stringify(String(v));
}

/**
 * Serialises nested plain objects of scalars to block-style YAML text. Keys whose value is
 * `undefined` are skipped. Enough for spindle's config file; no dependency needed.
 */
function toYaml(obj, indent = '') {
  let out = '';
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (isPlainObject(v)) {
      const inner = toYaml(v, indent + '  ');
      out += inner ? `${indent}${k}:\n${inner}` : `${indent}${k}: {}\n`;
    } else if (Array.isArray(v)) {
      out += `${indent}${k}: [${v.map(yamlScalar).join(', ')}]\n`;
    } else {
      out += `${indent}${k}: ${yamlScalar(v)}\n`;
    }
  }
  return out;
}

/** Current time as protocol seconds (a float), optionally shifted by `offsetMs`. */
function nowSec(offsetMs = 0) {
  return (Date.now() + offsetMs) / 1000;
}

let seq = 0;
/** A unique id for correlation ids, invocation ids, flush ids. */
function uid(prefix = 'id') {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

module.exports = {
  sleep, withTimeout, waitUntil, makeTempDir, removeTempDirs, merge, toYaml, nowSec, uid,
  isPlainObject,
};
