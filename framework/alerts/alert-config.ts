import { UsageError } from '../errors/index.ts';
import { lazySchema } from '../validation/index.ts';

/** Where alerts go: a webhook, its payload format, and the asset groups it covers (all when empty). */
export interface AlertConfig {
  url: string;
  format: 'json' | 'slack';
  groups: string[];
}

// built on first use (a command that sends no alert never loads zod): see framework/validation
const envSchema = lazySchema((z) =>
  z.object({
    FAIRWAY_ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
    FAIRWAY_ALERT_FORMAT: z.enum(['json', 'slack']).default('json'),
    FAIRWAY_ALERT_GROUPS: z
      .string()
      .regex(/^[\w.-]+(,[\w.-]+)*$/, 'a comma-separated list of asset groups')
      .optional()
      .transform((v) => (v ? v.split(',') : [])),
  }),
);

/**
 * The alert webhook from the environment (`FAIRWAY_ALERT_WEBHOOK_URL`, `FAIRWAY_ALERT_FORMAT` json|slack,
 * `FAIRWAY_ALERT_GROUPS`), or undefined when none is set. A bad value is a usage error naming the variable.
 */
export function alertConfigFrom(env: NodeJS.ProcessEnv = process.env): AlertConfig | undefined {
  const blank = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const parsed = envSchema().safeParse({
    FAIRWAY_ALERT_WEBHOOK_URL: blank(env.FAIRWAY_ALERT_WEBHOOK_URL),
    FAIRWAY_ALERT_FORMAT: blank(env.FAIRWAY_ALERT_FORMAT),
    FAIRWAY_ALERT_GROUPS: blank(env.FAIRWAY_ALERT_GROUPS),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    throw new UsageError(
      `${key}='${env[key]}' is invalid: expected ${issue.message.replace(/^Invalid (input|option): (expected )?/, '')}.`,
    );
  }
  const c = parsed.data;
  return c.FAIRWAY_ALERT_WEBHOOK_URL
    ? { url: c.FAIRWAY_ALERT_WEBHOOK_URL, format: c.FAIRWAY_ALERT_FORMAT, groups: c.FAIRWAY_ALERT_GROUPS }
    : undefined;
}
