export { betaOnlySignInFields, emptyDataset, type EntraDataset, type EntraGroup, type GraphObject } from './dataset.js';
export { sampleDataset, type SampleDatasetOptions } from './sample.js';
export {
  type EntraEmulator,
  type EntraEmulatorOptions,
  type EntraEmulatorStats,
  type EntraFaults,
  type FaultKind,
  type ScriptedFault,
  startEntraEmulator,
} from './server.js';
