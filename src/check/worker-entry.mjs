// The entry point of a model-checking worker thread (src/check/worker.ts). Workers do not
// inherit the main thread's module loader, so this one registers tsx, as bin/mkhv.js does,
// before it loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
