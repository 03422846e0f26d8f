// faults.mjs — run by test/distributed.test.ts under mpirun (2 ranks), timeoutMs 2 s:
//   throw: rank 1 throws after the first collective; hang: rank 1 never reaches the third;
//   sizes: the ranks pass different sizes; clean: no fault (the job must exit 0 by itself).
import { distributed, tensor, zeros } from '../../dist/index.js';

const mode = process.argv[2];
const { rank } = distributed.init({ timeoutMs: 2000 });
distributed.allReduce(tensor([1]));
if (mode === 'throw' && rank === 1) throw new Error('rank 1 fails on purpose');
if (mode === 'sizes') distributed.allReduce(zeros([rank === 1 ? 5 : 1000]));
distributed.allReduce(tensor([1, 2]));
if (mode === 'hang' && rank === 1) {
  const end = Date.now() + 60_000;
  while (Date.now() < end) { /* busy, never reaching the next collective */ }
}
distributed.allReduce(zeros([3, 4]));
console.log(`rank ${rank} finished`);
