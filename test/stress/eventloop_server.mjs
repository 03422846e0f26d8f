// eventloop_server.mjs — a Node HTTP service that trains (for test/stress/eventloop.test.ts).
// Listens on 127.0.0.1 (port 0), prints {"port"} once listening, then runs fit() while answering
// requests. GET /status answers at once. When training ends it prints one JSON line with the
// event-loop delay percentiles measured during training and how many requests it answered.
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const E = await import(new URL('../../dist/index.js', import.meta.url).href);
const epochs = Number(process.argv[2] ?? 6);
let answered = 0, training = false, step = 0;
const server = createServer((req, res) => {
  answered++;
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ training, step }));
});
server.listen(0, '127.0.0.1', async () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
  E.manualSeed(0);
  const x = E.randn([4096, 64]), y = E.randint(0, 10, [4096]);
  const model = new E.nn.Sequential(new E.nn.Linear(64, 256), new E.nn.ReLU(), new E.nn.Linear(256, 256), new E.nn.ReLU(), new E.nn.Linear(256, 10));
  const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 0 });
  const h = monitorEventLoopDelay({ resolution: 1 });
  await new Promise((r) => setTimeout(r, 200)); // let the client start
  training = true;
  h.enable();
  const t0 = performance.now();
  const history = await E.fit(model, { train: loader, loss: new E.nn.CrossEntropyLoss(), optimizer: new E.optim.Adam(model.parameters()), epochs, callbacks: [{ onBatchEnd: () => { step++; } }], progress: false });
  h.disable();
  training = false;
  const ms = (v) => Math.round((v / 1e6) * 100) / 100;
  const answeredDuring = answered;
  process.stdout.write(JSON.stringify({ done: true, seconds: (performance.now() - t0) / 1000, steps: step, loss: history.epochs.at(-1).loss,
    p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), answeredDuring }) + '\n');
  setTimeout(() => server.close(() => process.exit(0)), 500);
});
