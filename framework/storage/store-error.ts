import { type ErrorCode, FrameworkError } from '../errors/index.ts';

/** A store that cannot do what was asked: unreadable row, missing run, schema from a newer Fairway. */
export class StoreError extends FrameworkError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, cause });
    this.name = 'StoreError';
  }
}
