import { sharedCorrelationStore } from './correlation-store.js';
const t = performance.now();
console.log(await sharedCorrelationStore(Number(process.argv[2] ?? 1)), ((performance.now() - t) / 1000).toFixed(1));
