'use strict';
// Starts the real spindle binary on a Unix socket in a fresh temp dir.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { makeTempDir, sleep, withTimeout } = require('./util');

const SPINDLE_BIN = process.env.SPINDLE_BIN || path.resolve(__dirname, '../../../build/spindle');

const live = new Set();

function killLeftovers() {
  for (const proc of live) {
    try { proc.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
  live.clear();
}
process.on('exit', killLeftovers);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killLeftovers();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

/**
 * The environment for a spawned agent: the test process's environment without any OTEL_* or
 * SPINDLE_* variable (so a developer's shell cannot change results), plus `extra`.
 */
function agentEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('OTEL_') || k.startsWith('SPINDLE_')) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined || v === null) delete env[k];
    else env[k] = String(v);
  }
  return env;
}

function binExists() {
  try {
    fs.accessSync(SPINDLE_BIN, fs.constants.X_OK);
    return true;
  } catch (_) {
    return false;
  }
}

function tryConnect(socketPath) {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
  });
}

/** Polls until a Unix socket accepts a connection, every `intervalMs`, at most `timeoutMs`. */
async function waitForSocket(socketPath, { timeoutMs = 5000, intervalMs = 5, proc } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && proc.exitCode !== null) return false;
    if (proc && proc.signalCode !== null) return false;
    if (await tryConnect(socketPath)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

function argValue(args, flag) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag && i + 1 < args.length) return args[i + 1];
    if (args[i].startsWith(`${flag}=`)) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

function wireOutput(proc, tag) {
  const out = { stdout: [], stderr: [] };
  const verbose = !!process.env.SPINDLE_E2E_VERBOSE;
  proc.stdout.on('data', (c) => { out.stdout.push(c); });
  proc.stderr.on('data', (c) => {
    out.stderr.push(c);
    if (verbose) process.stderr.write(`[${tag}] ${c}`);
  });
  return out;
}

/**
 * startAgent({config, args, env, cwd, waitTimeoutMs}) → Promise<agent>
 *   config: YAML text, or a function (dir) → YAML text, or null for no --config flag
 *   args: extra CLI args (a --socket in args is honoured, otherwise <dir>/s.sock is used)
 *   socketFlag: false → pass no --socket (the config sets it); wait on opts.socketPath
 *   env: extra environment variables (OTEL_* from the test's own environment are removed)
 *   cwd: working directory (default: the temp dir, so relative paths stay inside it)
 *   prefix: argv that runs the binary, e.g. ['prlimit', '--fsize=65536'] (default none)
 *   admin: 'config' → no --http-listen flag (else `--http-listen off` unless args give one)
 * agent: {socketPath, dir, configPath, proc, pid, stderr(), stdout(), waitForStderr(re, ms),
 *         exited, stop(signal='SIGTERM', timeoutMs) → {code, signal}, kill()}
 */
async function startAgent(opts = {}) {
  const dir = opts.dir || makeTempDir();
  const args = [...(opts.args || [])];
  let configPath;
  if (opts.config !== null && opts.config !== undefined) {
    const text = typeof opts.config === 'function' ? opts.config(dir) : opts.config;
    configPath = path.join(dir, opts.configName || 'config.yaml');
    fs.writeFileSync(configPath, text);
    args.unshift('--config', configPath);
  }
  // The admin listener's default address is one fixed port: agents of tests
  // running side by side would race for it. Off unless a test asks for it
  // (an --http-listen flag, or opts.admin: 'config' to leave it to the config).
  if (argValue(args, '--http-listen') === undefined && opts.admin !== 'config') {
    args.push('--http-listen', 'off');
  }
  let socketPath = argValue(args, '--socket');
  if (!socketPath && opts.socketFlag === false) {
    // The config decides where the socket goes; opts.socketPath says where to wait for it.
    socketPath = opts.socketPath;
  } else if (!socketPath) {
    socketPath = path.join(dir, 's.sock');
    args.push('--socket', socketPath);
  }
  // opts.prefix: a command that runs the agent (e.g. ['prlimit', '--fsize=65536']).
  const prefix = opts.prefix || [];
  const proc = spawn(prefix.length ? prefix[0] : SPINDLE_BIN,
    prefix.length ? [...prefix.slice(1), SPINDLE_BIN, ...args] : args, {
    cwd: opts.cwd || dir,
    env: agentEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const out = wireOutput(proc, opts.name || `spindle ${proc.pid}`);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(proc);
      resolve(exitInfo);
    });
    proc.once('error', (err) => {
      exitInfo = { code: null, signal: null, error: err };
      live.delete(proc);
      resolve(exitInfo);
    });
  });

  const agent = {
    dir,
    socketPath,
    configPath,
    args,
    proc,
    pid: proc.pid,
    exited,
    stderr: () => Buffer.concat(out.stderr).toString('utf8'),
    stdout: () => Buffer.concat(out.stdout).toString('utf8'),
    /** Resolves with the first stderr line matching `re`; rejects after timeoutMs. */
    async waitForStderr(re, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = agent.stderr().split('\n').find((l) => re.test(l));
        if (line) return line;
        if (Date.now() >= deadline) {
          throw new Error(`no stderr line matching ${re} within ${timeoutMs} ms; stderr:\n${agent.stderr().slice(-4000)}`);
        }
        await sleep(20);
      }
    },
    /** Sends `signal` and waits for exit (SIGKILL after timeoutMs). */
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
      if (exitInfo) return exitInfo;
      try { proc.kill(signal); } catch (_) { /* gone */ }
      try {
        return await withTimeout(exited, timeoutMs, `spindle (pid ${proc.pid}) to exit after ${signal}`);
      } catch (_) {
        try { proc.kill('SIGKILL'); } catch (__) { /* gone */ }
        const info = await exited;
        return { ...info, timedOut: true };
      }
    },
    kill() {
      try { proc.kill('SIGKILL'); } catch (_) { /* gone */ }
      return exited;
    },
  };

  if (opts.waitForSocket === false) return agent;

  const up = await waitForSocket(socketPath, { timeoutMs: opts.waitTimeoutMs || 5000, proc });
  if (!up) {
    if (!exitInfo) await agent.kill();
    const info = exitInfo || {};
    const err = new Error(
      `spindle did not accept connections on ${socketPath} (exit code ${info.code}, signal ${info.signal}` +
      `${info.error ? `, ${info.error.message}` : ''}); bin ${SPINDLE_BIN}\nstderr:\n${agent.stderr().slice(-4000)}`);
    err.agent = agent;
    throw err;
  }
  return agent;
}

/**
 * Runs spindle to completion (CLI checks): → {code, signal, stdout, stderr, timedOut}.
 * opts: {env, cwd, timeoutMs = 10000}
 */
async function runSpindle(args, opts = {}) {
  const proc = spawn(SPINDLE_BIN, args, {
    cwd: opts.cwd || process.cwd(),
    env: agentEnv(opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  const out = wireOutput(proc, `spindle ${args.join(' ')}`);
  const exited = new Promise((resolve) => {
    proc.once('close', (code, signal) => { live.delete(proc); resolve({ code, signal }); });
    proc.once('error', (err) => { live.delete(proc); resolve({ code: null, signal: null, error: err }); });
  });
  let info;
  let timedOut = false;
  try {
    info = await withTimeout(exited, opts.timeoutMs || 10000, `spindle ${args.join(' ')}`);
  } catch (_) {
    timedOut = true;
    try { proc.kill('SIGKILL'); } catch (__) { /* gone */ }
    info = await exited;
  }
  return {
    ...info,
    timedOut,
    stdout: Buffer.concat(out.stdout).toString('utf8'),
    stderr: Buffer.concat(out.stderr).toString('utf8'),
  };
}

module.exports = { startAgent, runSpindle, waitForSocket, tryConnect, agentEnv, binExists, SPINDLE_BIN };
