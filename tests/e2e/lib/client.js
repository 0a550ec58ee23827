'use strict';
// A protocol client: newline-delimited JSON records over a Unix stream socket.

const net = require('node:net');
const { withTimeout, uid } = require('./util');

/**
 * connect(socketPath, {timeoutMs}) → Promise<client>
 * client: {socket, lines, send(x), flush(id, ms), stats(id, ms), waitForLine(pred, ms),
 *          closed, isClosed(), close(ms), destroy()}
 */
function connect(socketPath, { timeoutMs = 5000 } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let buf = '';
    const lines = []; // parsed (or {raw} for non-JSON) lines from the agent
    const waiters = []; // {pred, resolve}
    let closed = false;
    let closeResolve;
    const closedP = new Promise((r) => { closeResolve = r; });

    const dispatch = (v) => {
      lines.push(v);
      for (let i = 0; i < waiters.length; i++) {
        if (waiters[i].pred(v)) {
          const [w] = waiters.splice(i, 1);
          w.resolve(v);
          return;
        }
      }
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.trim()) continue;
        let v;
        try { v = JSON.parse(line); } catch (_) { v = { raw: line }; }
        dispatch(v);
      }
    });
    socket.on('error', () => { /* surfaced through close */ });
    socket.on('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) w.reject(new Error('connection closed before the answer arrived'));
      closeResolve();
    });

    function waitForLine(pred, ms = 5000, what = 'a line from the agent') {
      const found = lines.find(pred);
      if (found) return Promise.resolve(found);
      if (closed) return Promise.reject(new Error(`connection closed; no ${what}`));
      const p = new Promise((res, rej) => waiters.push({ pred, resolve: res, reject: rej }));
      return withTimeout(p, ms, what);
    }

    const client = {
      socket,
      lines,
      closed: closedP,
      isClosed: () => closed,
      /** Objects are JSON-encoded + "\n"; strings and Buffers are written as they are. */
      send(x) {
        let data;
        if (Buffer.isBuffer(x) || typeof x === 'string') data = x;
        else data = `${JSON.stringify(x)}\n`;
        return new Promise((res, rej) => socket.write(data, (err) => (err ? rej(err) : res())));
      },
      /** Sends several records in one write. */
      sendAll(records) {
        return client.send(records.map((r) => (typeof r === 'string' ? r : `${JSON.stringify(r)}\n`)).join(''));
      },
      /** Sends a flush and resolves with the parsed ack line. */
      async flush(id = uid('flush'), ms = 5000) {
        const p = waitForLine((v) => v && v.ack === id, ms, `flush ack ${id}`);
        await client.send({ type: 'flush', id });
        return p;
      },
      /** Sends a stats request and resolves with the parsed stats object. */
      async stats(id = uid('stats'), ms = 5000) {
        const p = waitForLine((v) => v && v.stats === id, ms, `stats answer ${id}`);
        await client.send({ type: 'stats', id });
        return p;
      },
      waitForLine,
      /** Half-closes and waits (bounded) for the agent to close its side. */
      async close(ms = 2000) {
        if (closed) return;
        socket.end();
        try { await withTimeout(closedP, ms, 'connection close'); } catch (_) { socket.destroy(); }
      },
      destroy() { socket.destroy(); },
    };
    socket.once('connect', () => resolve(client));
    socket.once('error', reject); // no-op once resolved
    socket.once('close', () => reject(new Error(`connection to ${socketPath} closed before connect`)));
  }), timeoutMs, `connect to ${socketPath}`);
}

module.exports = { connect };
