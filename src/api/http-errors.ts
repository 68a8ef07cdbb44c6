// The one error handler. Every failure leaves as { error: { code, message, requestId } }:
// AppError codes map to their catalogue status (src/errors.ts), schema validation to
// 400 naming the field, Fastify's own client errors (bad JSON, wrong media type, body
// too large) keep their 4xx. Anything else is a 500 whose message says nothing about
// internals; the log holds the detail under the same request id.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';

import { type ErrorCode, isAppError } from '../errors.js';
import { isStoreConnectionLoss } from '../store/database.js';

export const errorBody = z.object({
  error: z.object({
    code: z.string().describe('stable error code, e.g. INPUT_INVALID, UNAUTHORIZED, FORBIDDEN, NOT_FOUND'),
    message: z.string(),
    requestId: z.string(),
  }),
});

/** Response schemas for the errors every authenticated route can answer with. */
export const errorResponses = { 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody };

interface Described {
  status: number;
  code: ErrorCode | string;
  message: string;
}

function validationMessage(error: FastifyError): string {
  const context = error.validationContext ?? 'request';
  const issues = (error.validation ?? []).map((issue) => {
    const field = issue.instancePath
      .split('/')
      .filter((part) => part !== '')
      .join('.');
    return `${field ? `${context}.${field}` : context}: ${issue.message ?? 'is invalid'}`;
  });
  return issues.join('; ') || `${context} is invalid`;
}

function describe(error: unknown): Described {
  if (isAppError(error)) return { status: error.httpStatus, code: error.code, message: error.message };
  const fastifyError = error as FastifyError;
  if (hasZodFastifySchemaValidationErrors(fastifyError) || (Array.isArray(fastifyError.validation) && fastifyError.validation.length > 0)) {
    return { status: 400, code: 'INPUT_INVALID', message: validationMessage(fastifyError) };
  }
  if (
    typeof fastifyError.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500 &&
    !isResponseSerializationError(fastifyError)
  ) {
    const code =
      fastifyError.statusCode === 404
        ? 'NOT_FOUND'
        : fastifyError.statusCode === 401
          ? 'UNAUTHORIZED'
          : fastifyError.statusCode === 403
            ? 'FORBIDDEN'
            : 'INPUT_INVALID';
    return { status: fastifyError.statusCode, code, message: fastifyError.message };
  }
  // The store went away (restart, network): the client may retry; it is not our bug.
  if (isStoreConnectionLoss(error)) return { status: 503, code: 'STORE_UNAVAILABLE', message: 'the store does not answer; retry later' };
  return { status: 500, code: 'INTERNAL', message: 'internal error; the service log has the details under this request id' };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer');
  return reply
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ error: { code, message, requestId: String(request.id) } }));
}

/** Fastify's `frameworkErrors`: errors raised before routing (a URL whose percent-escapes
 *  do not decode to UTF-8, such as /v1/reports/%80) get the same JSON error shape as
 *  every other refusal, instead of Fastify's own body. */
export function frameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message =
    error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid: a percent-escape does not decode to UTF-8 text' : 'the request is not valid';
  request.log.info({ code: error.code, status }, message);
  reply.header('x-request-id', request.id);
  sendError(request, reply, status, 'INPUT_INVALID', message);
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const described = describe(error);
    if (described.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: described.code, status: described.status }, described.message);
    // A stream already under way (PDF) cannot change its status any more.
    if (reply.sent || reply.raw.headersSent) return;
    return sendError(request, reply, described.status, described.code, described.message);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
  );
}
