// Building, storing and reading reports: what the CLI's `report` command and the API's
// /v1/reports routes call.
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Database } from '../store/schema.js';
import type { Framework, ReportModel } from './model.js';
import type { ReportFormat, WrittenFile } from './write.js';

export interface ReportRequest {
  framework: Framework;
  period: { from: Date; to: Date };
  formats: ReportFormat[];
  /** Where to write the files (default: <dataDir>/reports). */
  outDir?: string;
}

export interface CreatedReport {
  reportId: string;
  contentSha256: string;
  model: ReportModel;
  files: WrittenFile[];
}

export interface ReportDependencies {
  db: Kysely<Database>;
  config: Config;
  logger?: Logger;
  /** Clock (tests pin it). */
  now?: () => Date;
}

/** Evaluates the rules for the period, builds the model, signs, renders, stores. */
export async function createReport(_deps: ReportDependencies, _request: ReportRequest): Promise<CreatedReport> {
  throw new AppError('INTERNAL', 'report building is being implemented');
}
