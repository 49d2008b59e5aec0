import { UsageError } from '../errors/index.ts';
import { lazySchema } from '../validation/index.ts';

/** Where OpenLineage events go, and under which job namespace. */
export type OpenLineageConfig =
  | { transport: 'file'; namespace: string }
  | { transport: 'console'; namespace: string }
  | {
      transport: 'http';
      namespace: string;
      /** The receiver's base URL, e.g. Marquez's `http://localhost:5000`. */
      url: string;
      /** Appended to `url` (default `api/v1/lineage`, Marquez's and the OpenLineage clients' default). */
      endpoint: string;
      /** Sent as `Authorization: Bearer <key>`; never logged or printed. */
      apiKey?: string;
      timeoutMs: number;
    };

// built on first use (a command that emits no lineage never loads zod): see framework/validation
const envSchema = lazySchema((z) =>
  z.object({
    FAIRWAY_OPENLINEAGE_TRANSPORT: z.enum(['off', 'file', 'http', 'console']).default('off'),
    FAIRWAY_OPENLINEAGE_URL: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
    FAIRWAY_OPENLINEAGE_ENDPOINT: z
      .string()
      .regex(/^[\w./-]*$/, 'a URL path such as api/v1/lineage')
      .default('api/v1/lineage'),
    FAIRWAY_OPENLINEAGE_API_KEY: z.string().optional(),
    FAIRWAY_OPENLINEAGE_NAMESPACE: z
      .string()
      .regex(/^[\w.:/-]+$/, 'a job namespace of letters, digits and . _ : / -')
      .default('fairway'),
    FAIRWAY_OPENLINEAGE_TIMEOUT_MS: z.coerce
      .number({ error: 'a number of milliseconds' })
      .int('a whole number of milliseconds')
      .min(100, 'at least 100 (milliseconds)')
      .max(60_000, 'at most 60000 (milliseconds)')
      .default(5_000),
  }),
);

/**
 * OpenLineage emission from the environment: `FAIRWAY_OPENLINEAGE_TRANSPORT` off (default) | file | http |
 * console, and for http `FAIRWAY_OPENLINEAGE_URL`, `FAIRWAY_OPENLINEAGE_ENDPOINT`, `FAIRWAY_OPENLINEAGE_API_KEY`,
 * `FAIRWAY_OPENLINEAGE_TIMEOUT_MS`; `FAIRWAY_OPENLINEAGE_NAMESPACE` names the job namespace. Undefined when
 * off. A bad value is a usage error naming the variable.
 */
export function openLineageConfigFrom(env: NodeJS.ProcessEnv = process.env): OpenLineageConfig | undefined {
  const blank = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const schema = envSchema();
  const parsed = schema.safeParse(Object.fromEntries(Object.keys(schema.shape).map((k) => [k, blank(env[k])])));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]);
    const shown = key === 'FAIRWAY_OPENLINEAGE_API_KEY' ? '****' : env[key];
    throw new UsageError(
      `${key}='${shown}' is invalid: expected ${issue.message.replace(/^Invalid (input|option): (expected )?/, '')}.`,
    );
  }
  const c = parsed.data;
  const namespace = c.FAIRWAY_OPENLINEAGE_NAMESPACE;
  switch (c.FAIRWAY_OPENLINEAGE_TRANSPORT) {
    case 'off':
      return undefined;
    case 'file':
    case 'console':
      return { transport: c.FAIRWAY_OPENLINEAGE_TRANSPORT, namespace };
    case 'http':
      if (!c.FAIRWAY_OPENLINEAGE_URL) {
        throw new UsageError(
          'FAIRWAY_OPENLINEAGE_TRANSPORT=http needs FAIRWAY_OPENLINEAGE_URL, the receiver (e.g. http://localhost:5000 for Marquez).',
        );
      }
      return {
        transport: 'http',
        namespace,
        url: c.FAIRWAY_OPENLINEAGE_URL,
        endpoint: c.FAIRWAY_OPENLINEAGE_ENDPOINT,
        ...(c.FAIRWAY_OPENLINEAGE_API_KEY ? { apiKey: c.FAIRWAY_OPENLINEAGE_API_KEY } : {}),
        timeoutMs: c.FAIRWAY_OPENLINEAGE_TIMEOUT_MS,
      };
  }
}

/** The config as `fairway config` shows it: the API key masked (`****` and its last 2 characters). */
export function describeOpenLineageConfig(config: OpenLineageConfig | undefined): Record<string, unknown> {
  if (!config) return { transport: 'off' };
  if (config.transport !== 'http' || !config.apiKey) return { ...config };
  const key = config.apiKey;
  return { ...config, apiKey: `****${key.length > 4 ? key.slice(-2) : ''}` };
}

/** The URL events are POSTed to: `url` and `endpoint` joined by one slash. */
export function lineageEndpointUrl(config: { url: string; endpoint: string }): string {
  const path = config.endpoint.replace(/^\/+/, '');
  return path ? `${config.url.replace(/\/+$/, '')}/${path}` : config.url;
}
