// One seedable pseudo-random generator (mulberry32) for everything that makes synthetic
// data or picks faults: the emulators' datasets and fault injection, the demo
// organisation, test support and benchmarks. Small and fast, with a 2^32 period; the same
// seed gives the same sequence on every machine, so generated organisations, planted
// findings and fault schedules are reproducible. Not for anything secret.
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
