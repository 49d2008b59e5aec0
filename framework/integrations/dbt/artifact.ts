import type { z } from 'zod';
import { type ErrorCode, FrameworkError } from '../../errors/index.ts';
import type { Zod } from '../../validation/index.ts';

/** A dbt run artifact (run_results.json, sources.json): its metadata, one result per node, the time taken. */
export const resultsArtifactSchema = <R extends z.ZodType>(z: Zod, result: R) =>
  z.object({
    metadata: z.object({ dbt_version: z.string(), invocation_id: z.string().nullish() }),
    results: z.array(result),
    elapsed_time: z.number().default(0),
  });

/**
 * Validates a dbt artifact read from disk: its data, or an error (with `code`) naming the file, the first
 * bad field and `fix`.
 */
export function parseDbtArtifact<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  where: { file: string; artifact: string; code: ErrorCode; fix?: string },
): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.join('.');
  throw new FrameworkError(
    where.code,
    `${where.file} is not a dbt ${where.artifact} Fairway can read: '${path}' ${issue.message}.${where.fix ? ` ${where.fix}` : ''}`,
    { details: { file: where.file, path } },
  );
}
