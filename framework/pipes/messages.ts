import type { Logger } from 'pino';
import type { z } from 'zod';
import { type CheckResult, metadataSchema } from '../definitions/index.ts';
import { lazySchema } from '../validation/index.ts';

/** One line a child process writes on its pipes channel (the schema, built on first use). */
export const pipesMessageSchema = lazySchema((z) =>
  z.discriminatedUnion('type', [
    z.object({
      type: z.literal('log'),
      ts: z.string().optional(),
      level: z.enum(['debug', 'info', 'warn', 'error']),
      message: z.string(),
      fields: z.record(z.string(), z.unknown()).optional(),
    }),
    z.object({
      type: z.literal('materialization'),
      ts: z.string().optional(),
      /** Which partition of a batched step the message is about; absent for the step's only partition. */
      partition_key: z.string().optional(),
      data_version: z.string().nullish(),
      metadata: metadataSchema().default({}),
    }),
    z.object({
      type: z.literal('check'),
      ts: z.string().optional(),
      partition_key: z.string().optional(),
      name: z.string().min(1),
      passed: z.boolean(),
      severity: z.enum(['warn', 'error']).optional(),
      failures: z.number().int().nullish(),
      description: z.string().nullish(),
      metadata: metadataSchema().optional(),
    }),
    z.object({
      type: z.literal('error'),
      ts: z.string().optional(),
      /** Set when one partition of a batch failed; absent when the whole process failed. */
      partition_key: z.string().optional(),
      message: z.string(),
      code: z.string().nullish(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  ]),
);
export type PipesMessage = z.infer<ReturnType<typeof pipesMessageSchema>>;

export type ParsedLine = { ok: true; message: PipesMessage } | { ok: false; line: string; error: string };

/** Parses one line; never throws — malformed lines come back with the reason. */
export function parsePipesLine(line: string): ParsedLine {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return { ok: false, line, error: `not JSON: ${(e as Error).message}` };
  }
  const parsed = pipesMessageSchema().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, line, error: `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, message: parsed.data };
}

/**
 * The check results a child reported, as the executor expects them from a materializer; with
 * `partitionKey`, only those about that partition of a batch.
 */
export function reportedChecks(messages: readonly PipesMessage[], partitionKey?: string): CheckResult[] {
  return messages.flatMap((m) =>
    m.type === 'check' && (partitionKey === undefined || m.partition_key === partitionKey)
      ? [
          {
            name: m.name,
            passed: m.passed,
            ...(m.severity ? { severity: m.severity } : {}),
            ...(m.failures != null ? { failures: m.failures } : {}),
            ...(m.description ? { description: m.description } : {}),
            ...(m.metadata ? { metadata: m.metadata } : {}),
          },
        ]
      : [],
  );
}

/** The messages of one channel so far, and the lines that were not messages (with why). */
export interface PipesReceived {
  messages: PipesMessage[];
  malformed: { line: string; error: string }[];
}

/**
 * A handler for lines read from a pipes channel (a local file, S3 chunks): each well-formed message is kept
 * and passed to `onMessage`; a malformed line is kept with its reason and logged, never fatal.
 */
export function receivePipesLines(
  received: PipesReceived,
  log: Logger,
  onMessage?: (message: PipesMessage) => void,
): (lines: readonly string[]) => void {
  return (lines) => {
    for (const line of lines) {
      const parsed = parsePipesLine(line);
      if (parsed.ok) {
        received.messages.push(parsed.message);
        onMessage?.(parsed.message);
      } else {
        received.malformed.push({ line: parsed.line, error: parsed.error });
        log.warn({ line: parsed.line.slice(0, 500), error: parsed.error }, 'malformed pipes message kept');
      }
    }
  };
}
