// One error type with a catalogue. Services throw AppError with a code; the CLI maps
// the code to an exit status and the HTTP layer to a status. Messages must never hold
// secrets: they name the variable or the upstream, never the value.
import catalogue from './errors.json' with { type: 'json' };

/** Each code's CLI exit status (2: the configuration or the command line is wrong), HTTP
 *  status, and whether a later attempt may succeed: data, in errors.json. */
export const errorCatalogue: Readonly<Record<keyof typeof catalogue, Readonly<ErrorEntry>>> = catalogue;

interface ErrorEntry {
  exitCode: number;
  httpStatus: number;
  retryable: boolean;
}

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
