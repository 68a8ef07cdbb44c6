// What route plugins receive: narrow dependencies, built once in app.ts.
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Store } from '../../store/database.js';
import type { Auth } from '../auth.js';
import type { CollectionRunner } from '../collection-runner.js';
import type { ReadRepository } from '../read.repository.js';

export interface RouteContext {
  config: Config;
  store: Store;
  logger: Logger;
  now: () => Date;
  auth: Auth;
  reads: ReadRepository;
  collections: CollectionRunner;
}

export interface RouteOptions {
  context: RouteContext;
}

export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

export function isoRequired(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** An ISO-8601 instant with offset, or a date (00:00 UTC). */
export const instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .describe('ISO-8601 instant or date (a date means 00:00 UTC)');

export function toDate(value: string): Date {
  return new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
}

/** Sends a body that is not the route's JSON schema (a PDF stream, CSV text) untouched:
 *  Fastify serialises neither streams nor strings with a non-JSON content type. */
export function sendRaw(
  reply: FastifyReply,
  contentType: string,
  fileName: string,
  body: string | NodeJS.ReadableStream,
  disposition: 'inline' | 'attachment' = 'attachment',
): FastifyReply {
  return reply.type(contentType).header('content-disposition', `${disposition}; filename="${fileName}"`).send(body);
}
