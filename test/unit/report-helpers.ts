// Re-exports for the report tests, so each test file imports from one place.
export { defaultCatalogueDir } from '../../src/correlation/rule-catalogue.js';
export { renderJson } from '../../src/reports/render/json.js';
export { renderOscal } from '../../src/reports/render/oscal.js';
export { loadSigningKey, signModel } from '../../src/reports/signing.js';
export { sampleReportModel } from '../support/sample-model.js';
