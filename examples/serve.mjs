// serve.mjs — a trained run as a JSON prediction service, with node:http only.
//
//   node examples/serve.mjs RUN_DIR [--port 8080] [--host 127.0.0.1] [--window-ms 5]
//
//   POST /predict  { "rows": [[5.1, 30, "land"], …] }            rows in the order of the run's columns
//                  { "rows": [{ "weight": 5.1, "height": 30, "habitat": "land" }, …] }   or keyed by column
//                  { …, "proba": true }                          adds the class probabilities
//   → 200 { "predictions": ["cat", …], "probabilities"?: [[0.97, 0.02, 0.01], …] }
//   → 400 { "error": "…the reason…", "code": "ERR_FORMAT" }   malformed JSON, wrong feature count, NaN, unknown category
//   GET /health    → { "ok": true, "task", "columns", "classes", "batches", "requests" }
//
// Requests arriving within `windowMs` of each other are answered by one forward pass: each
// request's rows are validated and preprocessed on arrival (so a bad request fails alone), queued,
// and the queue is run as one batch when the window closes or `maxBatchRows` rows are waiting.
// The model runs on the calling thread; a batch of a few hundred rows of a small MLP takes well
// under a millisecond, so the event loop stays free for the next requests.
import { createServer as createHttpServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { io, predict, concat, tidy, EntrenaError } from '../dist/index.js';

/**
 * An http.Server (not listening yet) answering predictions of the run in `runDir`.
 * `server.stats` counts requests and forward passes (batches); `server.run` is io.loadRun's result.
 * @param {string} runDir a folder written by `entrena train`
 * @param {{ windowMs?: number, maxBatchRows?: number, maxBodyBytes?: number }} [options]
 */
export function createServer(runDir, options = {}) {
  const { windowMs = 5, maxBatchRows = 4096, maxBodyBytes = 1 << 20 } = options;
  const run = io.loadRun(runDir);
  const { model, preprocess } = run;
  const stats = { requests: 0, batches: 0, rows: 0 };
  /** @type {{ x: any, n: number, resolve: (r: any) => void, reject: (e: any) => void }[]} */
  let queue = [];
  let queuedRows = 0;
  let timer = null;

  function flush() {
    clearTimeout(timer);
    timer = null;
    const batch = queue;
    queue = [];
    queuedRows = 0;
    if (batch.length === 0) return;
    stats.batches++;
    try {
      // One forward pass for every queued request; the probabilities are split back per request.
      const { predictions, probabilities } = tidy(() => {
        const x = batch.length === 1 ? batch[0].x : concat(batch.map((b) => b.x), 0);
        return preprocess.decode(predict(model, x), { proba: preprocess.classes !== null });
      });
      let at = 0;
      for (const b of batch) {
        const answer = { predictions: predictions.slice(at, at + b.n) };
        if (b.proba && probabilities) answer.probabilities = probabilities.slice(at, at + b.n);
        at += b.n;
        b.resolve(answer);
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      for (const b of batch) b.x.dispose();
    }
  }

  function enqueue(x, n, proba) {
    return new Promise((resolve, reject) => {
      queue.push({ x, n, proba, resolve, reject });
      queuedRows += n;
      if (queuedRows >= maxBatchRows) flush();
      else if (!timer) timer = setTimeout(flush, windowMs);
    });
  }

  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const bad = (res, error, code = 'ERR_INVALID_ARGUMENT') => send(res, 400, { error, code });

  const server = createHttpServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health')
      return send(res, 200, { ok: true, task: preprocess.task, columns: preprocess.columns, classes: preprocess.classes, ...stats });
    if (req.url !== '/predict') return send(res, 404, { error: `no route ${req.method} ${req.url}; use POST /predict or GET /health` });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST /predict with a JSON body { "rows": [...] }' });
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBodyBytes) { bad(res, `request body larger than ${maxBodyBytes} bytes`); req.destroy(); }
      else chunks.push(c);
    });
    req.on('end', async () => {
      if (res.writableEnded) return;
      stats.requests++;
      let body;
      try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) { return bad(res, `malformed JSON: ${e.message}`, 'ERR_FORMAT'); }
      if (!body || typeof body !== 'object' || !Array.isArray(body.rows) || body.rows.length === 0)
        return bad(res, 'expected a JSON object { "rows": [...] } with at least one row (arrays of values or objects keyed by column name)');
      if (body.proba !== undefined && typeof body.proba !== 'boolean') return bad(res, '"proba" must be true or false');
      let x;
      try { x = preprocess.transform(body.rows); } catch (e) {
        if (e instanceof EntrenaError) return bad(res, e.message, e.code);
        return send(res, 500, { error: String(e?.message ?? e) });
      }
      stats.rows += body.rows.length;
      try { send(res, 200, await enqueue(x, body.rows.length, body.proba === true)); } catch (e) { send(res, 500, { error: String(e?.message ?? e), code: e?.code }); }
    });
  });
  server.stats = stats;
  server.run = run;
  server.on('close', flush);
  return server;
}

// Run as a script: node examples/serve.mjs RUN_DIR [--port N] [--host H] [--window-ms MS]
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const flag = (name, fallback) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : fallback; };
  const runDir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  if (!runDir) { console.error('usage: node examples/serve.mjs RUN_DIR [--port 8080] [--host 127.0.0.1] [--window-ms 5]'); process.exit(2); }
  const server = createServer(runDir, { windowMs: Number(flag('window-ms', 5)) });
  const host = flag('host', '127.0.0.1');
  server.listen(Number(flag('port', 8080)), host, () => {
    const { port } = server.address();
    const p = server.run.preprocess;
    console.log(`serving ${runDir} (${p.task}; columns ${p.columns.join(', ')}${p.classes ? `; classes ${p.classes.join(', ')}` : ''}) on http://${host}:${port}/predict`);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
}
