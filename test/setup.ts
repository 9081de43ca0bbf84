/**
 * Test profile. FC_NUM_RUNS sets how many cases every fast-check property tries: the default
 * keeps `npm test` within a few minutes on 2 cores; `npm run test:deep` (or FC_NUM_RUNS=…)
 * runs a deeper profile. FC_SEED replays a reported failure.
 */
import fc from 'fast-check';

const runs = Number(process.env['FC_NUM_RUNS'] ?? 100);
const seed = process.env['FC_SEED'];

fc.configureGlobal({
  numRuns: Number.isInteger(runs) && runs > 0 ? runs : 100,
  ...(seed !== undefined && seed !== '' ? { seed: Number(seed) } : {}),
});
