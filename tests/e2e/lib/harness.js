'use strict';
// Common set-up: a sink, an agent exporting to it with short timers, and clients.

const fs = require('node:fs');
const path = require('node:path');
const { startSink } = require('./sink');
const { startAgent, binExists, SPINDLE_BIN } = require('./agent');
const { connect } = require('./client');
const { merge, toYaml } = require('./util');

/**
 * Test defaults: export quickly, short grace, metrics every 500 ms, and no OTLP receiver
 * (its default address is one fixed port; a test that wants the receiver sets otlp.listen).
 */
function baseConfig(endpoint) {
  return {
    otlp: endpoint ? { endpoint, listen: 'off' } : { listen: 'off' },
    export: { batch_delay: '100ms', shutdown_timeout: '2s' },
    metrics: { interval: '500ms' },
    correlation: { grace_period: '200ms' },
  };
}

/**
 * A config function for startAgent: YAML text with the test defaults, `extra` merged in,
 * and service.state_dir inside the agent's temp dir.
 */
function testConfig(endpoint, extra = {}) {
  return (dir) => {
    const stateDir = path.join(dir, 'state');
    fs.mkdirSync(stateDir, { recursive: true });
    return toYaml(merge(merge(baseConfig(endpoint), { service: { state_dir: stateDir } }), extra));
  };
}

/**
 * setup({config, env, args, sinkOpts, noSink}) → {sink, agent, connect(), clients, close()}
 * close() closes clients, stops the agent (SIGTERM) and closes the sink.
 */
async function setup(opts = {}) {
  const sink = opts.noSink ? null : await startSink(opts.sinkOpts || {});
  const config = opts.rawConfig !== undefined ? opts.rawConfig : testConfig(sink && sink.url, opts.config || {});
  let agent;
  try {
    agent = await startAgent({ config, env: opts.env, args: opts.args, name: opts.name });
  } catch (err) {
    if (sink) await sink.close();
    throw err;
  }
  const clients = [];
  const h = {
    sink,
    agent,
    clients,
    async connect() {
      const c = await connect(agent.socketPath);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      const info = await agent.stop('SIGTERM', 10000);
      if (sink) await sink.close();
      return info;
    },
  };
  return h;
}

/**
 * Options for describe(): by default a missing binary fails every test loudly (a suite that
 * passes without running anything is worse than a red one); SPINDLE_E2E_ALLOW_MISSING_BIN=1
 * turns that into a skip.
 */
const needBinary = binExists() || !process.env.SPINDLE_E2E_ALLOW_MISSING_BIN
  ? {} : { skip: `spindle binary not found at ${SPINDLE_BIN} (set SPINDLE_BIN)` };

module.exports = { baseConfig, testConfig, setup, needBinary };
