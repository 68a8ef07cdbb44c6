#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so `npx accesstrail` works right after
// `npm ci` with no build step. The Docker image runs the compiled dist/ instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
