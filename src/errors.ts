// One error type with a catalogue. Services throw AppError with a code; the CLI maps
// the code to an exit status and the HTTP layer to a status. Messages must never hold
// secrets: they name the variable or the upstream, never the value.

export const errorCatalogue = {
  CONFIG_INVALID: { exitCode: 2, httpStatus: 500, retryable: false },
  USAGE: { exitCode: 2, httpStatus: 400, retryable: false },
  NOT_FOUND: { exitCode: 1, httpStatus: 404, retryable: false },
  CONFLICT: { exitCode: 1, httpStatus: 409, retryable: false },
  UNAUTHORIZED: { exitCode: 1, httpStatus: 401, retryable: false },
  FORBIDDEN: { exitCode: 1, httpStatus: 403, retryable: false },
  STORE_UNAVAILABLE: { exitCode: 1, httpStatus: 503, retryable: true },
  STORE_TAMPERED: { exitCode: 1, httpStatus: 500, retryable: false },
  UPSTREAM_AUTH: { exitCode: 1, httpStatus: 502, retryable: false },
  UPSTREAM_PERMISSION: { exitCode: 1, httpStatus: 502, retryable: false },
  UPSTREAM_LICENCE: { exitCode: 1, httpStatus: 502, retryable: false },
  UPSTREAM_UNAVAILABLE: { exitCode: 1, httpStatus: 502, retryable: true },
  UPSTREAM_BAD_RESPONSE: { exitCode: 1, httpStatus: 502, retryable: false },
  INPUT_INVALID: { exitCode: 1, httpStatus: 400, retryable: false },
  VERIFY_FAILED: { exitCode: 1, httpStatus: 422, retryable: false },
  INTERNAL: { exitCode: 1, httpStatus: 500, retryable: false },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options?.details;
  }

  get exitCode(): number {
    return errorCatalogue[this.code].exitCode;
  }
  get httpStatus(): number {
    return errorCatalogue[this.code].httpStatus;
  }
  get retryable(): boolean {
    return errorCatalogue[this.code].retryable;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
