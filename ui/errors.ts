import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import {
  type ErrorCode,
  FrameworkError,
  SelectionError,
  ServiceUnavailableError,
  UsageError,
} from '../framework/errors/index.ts';

/** A resource the request names does not exist (404). */
export class NotFoundError extends FrameworkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('NOT_FOUND', message, { details });
    this.name = 'NotFoundError';
  }
}

/** The request conflicts with the resource's state, e.g. canceling a finished run (409). */
export class ConflictError extends FrameworkError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('CONFLICT', message, { details });
    this.name = 'ConflictError';
  }
}

/** Missing or wrong credentials for a state-changing request (401), or a refused origin (403). */
export class AuthError extends FrameworkError {
  readonly status: 401 | 403;
  constructor(status: 401 | 403, message: string) {
    super(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message);
    this.name = 'AuthError';
    this.status = status;
  }
}

/** A request the server refuses as a whole: a foreign Host (421), a body too large (413). */
export class RequestRefusedError extends FrameworkError {
  readonly status: 413 | 421;
  constructor(status: 413 | 421, code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'RequestRefusedError';
    this.status = status;
  }
}

/** HTTP status for an error; anything not a FrameworkError is a bug (500). */
export function statusOf(e: unknown): ContentfulStatusCode {
  if (e instanceof NotFoundError) return 404;
  if (e instanceof RequestRefusedError) return e.status;
  // Hono's own refusals (e.g. "Malformed JSON in request body" from the validator) keep their 4xx status.
  if (e instanceof HTTPException && e.status < 500) return e.status as ContentfulStatusCode;
  if (e instanceof ConflictError) return 409;
  if (e instanceof AuthError) return e.status;
  if (e instanceof SelectionError || e instanceof UsageError) return 400;
  if (e instanceof ServiceUnavailableError) return 503;
  // The query engine answered with an error of its own (not the request's fault).
  if (e instanceof FrameworkError && e.code === 'QUERY_FAILED') return 502;
  if (e instanceof FrameworkError) return e.code === 'ASSET_NOT_FOUND' ? 404 : 400;
  return 500;
}

/**
 * The one place errors become HTTP responses: JSON `{error: {code, message}}` under /api, a small
 * HTML page elsewhere. 500s never carry the stack or the raw message.
 */
export function errorHandler(log: Logger) {
  return (e: Error, c: Context) => {
    const status = statusOf(e);
    const code = e instanceof FrameworkError ? e.code : e instanceof HTTPException ? 'BAD_REQUEST' : 'INTERNAL';
    const message = status === 500 ? 'Internal error; the server log has the details.' : e.message;
    if (status === 500) log.error({ err: e, path: c.req.path }, 'request failed');
    else log.debug({ code, path: c.req.path, status }, 'request refused');
    if (c.req.path.startsWith('/api/')) return c.json({ error: { code, message } }, status);
    return c.html(errorPage(status, message), status);
  };
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

function errorPage(status: number, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fairway – ${status}</title><link rel="stylesheet" href="/static/ui.css"></head><body><main><h1>${status}</h1><pre class="error">${escapeHtml(message)}</pre><p><a href="/">Back to the lineage graph</a></p></main></body></html>`;
}
