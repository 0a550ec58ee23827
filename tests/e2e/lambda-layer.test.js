'use strict';
// The Lambda layer (packaging/lambda/, issue 12): build-layer.sh makes the zip from the binary
// under test, the zip is unpacked as Lambda does under /opt, and its launcher
// (extensions/spindle) is started with no configuration of its own against the stand-in for the
// Extensions and Telemetry APIs (lib/lambda-api.js): it must register, subscribe and deliver an
// invocation to the sink, with every shared library (glibc and its loader included) taken from
// the layer, never from the machine: that is what lets a binary built against Debian 12's glibc
// 2.36 run on Amazon Linux 2023 (glibc 2.34).

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { startSink } = require('./lib/sink');
const { agentEnv, SPINDLE_BIN } = require('./lib/agent');
const { startLambdaApi } = require('./lib/lambda-api');
const { needBinary } = require('./lib/harness');
const { waitUntil, makeTempDir, withTimeout } = require('./lib/util');

const BUILD = path.join(__dirname, '..', '..', 'packaging', 'lambda', 'build-layer.sh');
const iso = (ms) => new Date(ms).toISOString();

describe('Lambda layer', needBinary, () => {
  test('the layer zip: launcher, binary, config and libraries; unpacked, it registers and delivers with only its own libraries', { timeout: 90000 }, async () => {
    const dir = makeTempDir();
    const zip = path.join(dir, 'layer.zip');
    execFileSync(BUILD, [SPINDLE_BIN, zip], { stdio: 'pipe', timeout: 60000 });
    const size = fs.statSync(zip).size;
    // Lambda: 50 MB zipped, 250 MB unzipped for the function and its layers together.
    assert.ok(size < 15 * 1024 * 1024, `zip is ${size} bytes`);
    const opt = path.join(dir, 'opt');
    fs.mkdirSync(opt);
    execFileSync('unzip', ['-q', zip, '-d', opt], { timeout: 30000 });
    const unzipped = execFileSync('du', ['-sb', opt]).toString().split('\t')[0];
    assert.ok(Number(unzipped) < 60 * 1024 * 1024, `unzipped ${unzipped} bytes`);
    const launcher = path.join(opt, 'extensions', 'spindle');
    assert.ok(fs.statSync(launcher).mode & 0o111, 'extensions/spindle is executable');
    // A static ELF, not a script: a shell before the loader cost ~5 ms of every cold start.
    assert.equal(fs.readFileSync(launcher).subarray(0, 4).toString('latin1'), '\x7fELF', 'the launcher is an ELF binary');
    const headers = require('node:child_process').spawnSync('readelf', ['-l', launcher], { encoding: 'utf8' });
    assert.equal(headers.status, 0, headers.stderr);
    assert.doesNotMatch(headers.stdout, /INTERP/, 'the launcher has no loader of its own (static)');
    for (const f of ['spindle/bin/spindle', 'spindle/spindle.yaml', 'spindle/lib/ld-linux-x86-64.so.2', 'spindle/lib/libc.so.6', 'spindle/lib/libcurl.so.4', 'spindle/lib/libcrypto.so.3']) {
      assert.ok(fs.existsSync(path.join(opt, f)), `${f} in the layer`);
    }

    const sink = await startSink();
    const api = await startLambdaApi();
    // As Lambda starts it (no arguments of its own), but on a private socket and a run-time port
    // for the OTLP receiver; LD_DEBUG lists every library the loader maps.
    const proc = spawn(launcher, ['--socket', path.join(dir, 's.sock'), '--otlp-listen', '127.0.0.1:0'], {
      cwd: dir,
      env: agentEnv({ AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_NAME: 'fn-layer', AWS_REGION: 'eu-central-1',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, LD_DEBUG: 'libs', LD_LIBRARY_PATH: undefined }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => proc.once('close', (code) => resolve(code)));
    try {
      await waitUntil(() => api.nextCalls().length === 1, { timeoutMs: 10000, what: 'register, subscribe, event/next' });
      assert.equal(api.callsTo('/2020-01-01/extension/register')[0].headers['lambda-extension-name'], 'spindle');
      const t0 = Date.now() - 500;
      assert.equal(await api.telemetry([
        { time: iso(t0), type: 'platform.initStart', record: { initializationType: 'on-demand', phase: 'init' } },
        { time: iso(t0 + 50), type: 'platform.initReport', record: { initializationType: 'on-demand', phase: 'init', metrics: { durationMs: 50 } } },
      ]), 200);
      api.invoke('layer-1');
      assert.equal(await api.telemetry([
        { time: iso(t0 + 100), type: 'platform.start', record: { requestId: 'layer-1' } },
        { time: iso(t0 + 120), type: 'function', record: 'hello from the layer\n' },
        { time: iso(t0 + 200), type: 'platform.runtimeDone', record: { requestId: 'layer-1', status: 'success', metrics: { durationMs: 100 } } },
      ]), 200);
      await waitUntil(() => api.nextCalls().length === 2, { timeoutMs: 10000, what: 'event/next after layer-1' });
      api.shutdown(2000);
      assert.equal(await withTimeout(exited, 5000, 'exit after SHUTDOWN'), 0, stderr.slice(-3000));
      const inv = sink.spans().find((s) => s.span.attributes['faas.invocation_id'] === 'layer-1' && s.span.kind === 2);
      assert.ok(inv, `the invocation span at the sink\n${sink.summary()}`);
      assert.equal(inv.resource['cloud.region'], 'eu-central-1');
      assert.ok(sink.logs().some((l) => l.log.body === 'hello from the layer'), 'the function log at the sink');
      // Every library the loader mapped, libcurl and its dependencies included, is the layer's
      // (the launcher is static: the first "transferring control" is the bundled loader's).
      const afterShell = stderr.slice(stderr.search(/transferring control: /));
      const loaded = [...afterShell.matchAll(/calling init: (\S+)/g)].map((m) => m[1]);
      assert.ok(loaded.some((p) => p.endsWith('/libcurl.so.4')), `libcurl was loaded\n${loaded.join('\n')}`);
      const libdir = fs.realpathSync(path.join(opt, 'spindle', 'lib'));
      const outside = loaded.filter((p) => !fs.realpathSync(p).startsWith(libdir + path.sep));
      assert.deepEqual(outside, [], 'libraries from outside the layer');
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      await api.close();
      await sink.close();
    }
  });
});
