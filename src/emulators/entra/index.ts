export { emptyDataset, betaOnlySignInFields, type EntraDataset, type EntraGroup, type GraphObject } from './dataset.js';
export { startEntraEmulator, type EntraEmulator, type EntraEmulatorOptions, type EntraEmulatorStats, type EntraFaults, type FaultKind, type ScriptedFault } from './server.js';
export { sampleDataset, type SampleDatasetOptions } from './sample.js';
