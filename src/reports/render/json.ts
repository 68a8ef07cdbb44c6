// The JSON rendering is the canonical form itself, so the file's bytes are exactly
// what the content hash covers (plus the integrity section): `verify` can insist that
// a report file is canonical, and any changed byte is detected.
import { canonicalReportJson } from '../canonical-json.js';
import type { ReportModel } from '../model.js';

export function renderJson(model: ReportModel): string {
  return canonicalReportJson(model);
}
