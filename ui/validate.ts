import { zValidator } from '@hono/zod-validator';
import type { ValidationTargets } from 'hono';
import { z } from 'zod';
import { ASSET_KEY_PATTERN } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import { RunStatusSchema, StatusKindSchema } from './api-schemas.ts';

/** zod validation for a request part; failures become a UsageError, so `app.onError` answers 400. */
export const validate = <T extends z.ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) =>
  zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new UsageError(
        `Invalid ${target}: ${z.prettifyError(result.error as unknown as z.ZodError).replaceAll('\n', ' ')}`,
      );
    }
  });

export const AssetKeySchema = z
  .string()
  .max(300)
  .regex(ASSET_KEY_PATTERN, "an asset key is dotted lowercase 'layer.name'")
  .describe("Asset key, e.g. 'silver.clean_orders'");
export const RunIdSchema = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'a run id is letters, digits, _ and -')
  .describe('Run id (ULID)');
const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

export const AssetParams = z.object({ key: AssetKeySchema });
export const RunParams = z.object({ id: RunIdSchema });
export const LogParams = z.object({ id: RunIdSchema, asset: AssetKeySchema });
export const AssetsQuery = z.object({ status: StatusKindSchema.optional(), group: z.string().max(200).optional() });
export const HistoryQuery = z.object({
  partition: z.string().max(500).optional(),
  limit: limit(500, 50),
  before: z.coerce.number().int().min(1).optional(),
});
export const RunsQuery = z.object({
  status: RunStatusSchema.optional(),
  limit: limit(200, 50),
  before: RunIdSchema.optional(),
});
/** At most 100 rows (the UI's `PREVIEW_MAX_ROWS`); default 20. */
export const PreviewQuery = z.object({ limit: limit(100, 20) });
export const LogQuery = z.object({ partition: z.string().max(500).optional() });
/** `/daemon`: ticks before a tick id (paging), those that decided something about one asset. */
export const DaemonQuery = z.object({
  before: z.coerce.number().int().min(0).optional(),
  asset: AssetKeySchema.optional(),
});
export const EventsQuery = z.object({ after: z.coerce.number().int().min(0).optional() });
export const SelectionQuery = z.object({ q: z.string().min(1, 'q is empty').max(2000) });
