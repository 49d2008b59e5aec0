import type { ErrorCode } from './codes.ts';

export { type ErrorCode, type ErrorCodes, FRAMEWORK_ERROR_CODES } from './codes.ts';

/**
 * One error type for everything Fairway reports to a user: a stable `code`, the keys involved,
 * and a message that says what happened and what to do next.
 */
export class FrameworkError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FrameworkError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** A definition set that cannot be loaded: duplicate keys, unknown deps, cycles, bad partitions. */
export class DefinitionError extends FrameworkError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
    this.name = 'DefinitionError';
  }
}

/** A selection string that does not parse or selects nothing. `position` points at the offending token. */
export class SelectionError extends FrameworkError {
  readonly position: number;
  constructor(message: string, selection: string, position: number) {
    super('SELECTION_INVALID', `${message}\n  ${selection}\n  ${' '.repeat(position)}^`, {
      details: { selection, position },
    });
    this.name = 'SelectionError';
    this.position = position;
  }
}

/** Bad user input on the command line or over HTTP. */
export class UsageError extends FrameworkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('USAGE', message, { details });
    this.name = 'UsageError';
  }
}

/**
 * A server a request needs (query engine, object store, catalog) is not answering. `service` names it
 * (`trino`, `s3`, `rest`, `spark`); the message says how to check and start it.
 */
export class ServiceUnavailableError extends FrameworkError {
  readonly service: string;
  constructor(service: string, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super('SERVICE_UNAVAILABLE', message, { details: { service, ...options.details }, cause: options.cause });
    this.name = 'ServiceUnavailableError';
    this.service = service;
  }
}

export const isFrameworkError = (e: unknown): e is FrameworkError => e instanceof FrameworkError;
