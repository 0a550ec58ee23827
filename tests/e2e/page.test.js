'use strict';
// The status page (GET / on the admin listener) in a real browser: Debian's headless Chromium
// driven by playwright-core. A workflow that starts while the page is open appears in the list;
// clicking it draws its waterfall with the cold start, the retry and the dead letter marked, and a
// link to the trace. The screenshot is kept under SPINDLE_E2E_ARTIFACTS (./test.sh sets it to its
// log folder), else <tmp>/spindle-e2e-artifacts.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { setup, needBinary } = require('./lib/harness');
const r = require('./lib/records');
const { uid, sleep } = require('./lib/util');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const ARTIFACTS = process.env.SPINDLE_E2E_ARTIFACTS || path.join(os.tmpdir(), 'spindle-e2e-artifacts');

async function adminAddress(agent) {
  const line = await agent.waitForStderr(/spindle ready/, 5000);
  return /admin="([^"]*)"/.exec(line)[1];
}

describe('status page in headless Chromium', needBinary, () => {
  let h;
  let browser;
  let addr;
  before(async () => {
    h = await setup({
      args: ['--http-listen', '127.0.0.1:0'],
      config: { alerts: { trace_url: 'http://jaeger.test/trace/{{trace_id}}' } },
    });
    addr = await adminAddress(h.agent);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
      timeout: 30000,
    });
  });
  after(async () => {
    if (browser) await browser.close();
    if (h) await h.close();
  });

  test('a live workflow appears; clicking it shows its waterfall; screenshot kept', { timeout: 60000 }, async (t) => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const foreign = [];
    const errors = [];
    page.on('request', (req) => { if (!req.url().startsWith(`http://${addr}/`)) foreign.push(req.url()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`http://${addr}/`, { timeout: 15000 });
    await page.waitForSelector('#ready.ok', { timeout: 10000 });
    assert.equal(await page.locator('#no-workflows').isVisible(), true, 'no workflow yet');

    // Now a workflow runs: two functions, a cold start, a retried attempt, a span, a dead letter.
    const cid = uid('order');
    const c = await h.connect();
    await c.sendAll([
      r.workflowStart(cid, { workflow: 'checkout' }),
      r.invocationStart(cid, 'inv-1', { function: 'validate-order', cold_start: true, trigger: 'http' }),
      r.span(cid, 'SELECT orders', { invocation_id: 'inv-1', function: 'validate-order' }),
      r.invocationEnd(cid, 'inv-1', { function: 'validate-order' }),
      r.invocationStart(cid, 'inv-2', { function: 'charge-card', attempt: 2, trigger: 'pubsub' }),
    ]);
    await c.flush();
    await sleep(30);
    await c.sendAll([
      r.event(cid, 'dead_letter', { invocation_id: 'inv-2', function: 'charge-card', queue: 'orders-dlq', reason: 'card declined' }),
      r.invocationEnd(cid, 'inv-2', { function: 'charge-card', status: 'error' }),
    ]);
    await c.flush();

    const row = page.locator(`#workflows tbody tr[data-cid="${cid}"]`);
    await row.waitFor({ timeout: 10000 });
    assert.match(await row.textContent(), /checkout/);
    await row.click();
    await page.waitForSelector('.r-invocation', { timeout: 10000 });
    const labels = await page.locator('.r-invocation .wlabel').allTextContents();
    assert.equal(labels.length, 2, labels.join(' | '));
    assert.ok(labels.some((l) => l.includes('validate-order') && l.includes('cold start')), labels.join(' | '));
    assert.ok(labels.some((l) => l.includes('charge-card') && l.includes('retry #2') && l.includes('dead letter')), labels.join(' | '));
    assert.deepEqual(await page.locator('.r-span .wlabel').allTextContents(), ['SELECT orders']);
    assert.ok(await page.locator('.r-invocation .mark.dlq').count() >= 1, 'the dead letter is marked on its invocation');
    const trace = await page.locator('#trace-link').getAttribute('href');
    assert.match(trace, /^http:\/\/jaeger\.test\/trace\/[0-9a-f]{32}$/);
    // The firing alert is on the page too.
    await page.locator('#alerts tbody tr', { hasText: 'DeadLetter' }).waitFor({ timeout: 10000 });

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    assert.ok(fs.statSync(shot).size > 10000);
    assert.deepEqual(foreign, [], 'the page asks nothing of another origin');
    assert.deepEqual(errors, []);
    c.destroy();
    await page.close();
  });
});
