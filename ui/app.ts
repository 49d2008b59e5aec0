import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import type { Logger } from 'pino';
import { type Project, StatusCache } from '../framework/project/index.ts';
import { apiRoutes } from './api.ts';
import { ensureToken, hostName, LOOPBACK_HOSTS, Sessions } from './auth.ts';
import { errorHandler, NotFoundError, RequestRefusedError } from './errors.ts';
import { computeLayout, type GraphLayout } from './layout.ts';
import { pageRoutes } from './pages/routes.tsx';
import { warmAssetPages } from './queries.ts';
import { RunRegistry } from './run-registry.ts';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/** Largest request body accepted (a launch request is a few hundred bytes). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AppOptions {
  /** Token for launch/cancel; default: read or create `<stateDir>/ui-token`. */
  token?: string;
  log?: Logger;
  /** SSE store poll interval (default 500 ms). */
  pollMs?: number;
  /**
   * Host names requests may name (the `Host` header; DNS rebinding protection). Default `LOOPBACK_HOSTS`;
   * `fairway ui` adds the bound host and `FAIRWAY_UI_ALLOWED_HOSTS`.
   */
  allowedHosts?: readonly string[];
}

export interface FairwayApp {
  app: Hono;
  token: string;
  runs: RunRegistry;
  /**
   * Judges every asset into the app's status cache (and sums up the large health bars), so the first page a
   * user opens does not pay for it (`fairway ui` calls it once it listens; requests arriving meanwhile wait
   * for the judgement and share it).
   */
  warmUp(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Static assets served by explicit routes only (a whitelist; nothing is looked up from the URL). */
function staticFiles(): Map<string, { body: string; type: string }> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const uplotDir = dirname(require.resolve('uplot'));
  const files: [string, string, string][] = [
    ['/static/ui.css', join(here, 'static', 'ui.css'), css],
    ['/static/common.js', join(here, 'static', 'common.js'), js],
    ['/static/ids.js', join(here, 'static', 'ids.js'), js],
    ['/static/graph.js', join(here, 'static', 'graph.js'), js],
    ['/static/asset.js', join(here, 'static', 'asset.js'), js],
    ['/static/run.js', join(here, 'static', 'run.js'), js],
    ['/vendor/uplot.js', join(uplotDir, 'uPlot.iife.min.js'), js],
    ['/vendor/uplot.css', join(uplotDir, 'uPlot.min.css'), css],
    ['/vendor/elk.js', require.resolve('elkjs/lib/elk.bundled.js'), js],
  ];
  return new Map(files.map(([route, file, type]) => [route, { body: readFileSync(file, 'utf8'), type }]));
}

/**
 * The UI as a Hono app (pages, JSON API, static files). Tests drive it with `app.request`;
 * `fairway ui` serves it with @hono/node-server.
 */
export function createApp(project: Project, opts: AppOptions = {}): FairwayApp {
  const log = (opts.log ?? project.log).child({ component: 'ui' });
  const token = opts.token ?? ensureToken(project.stateDir);
  const runs = new RunRegistry(log);
  const sessions = new Sessions();
  const statusCache = new StatusCache();
  // Computed once per definitions load: the graph does not change while the server runs.
  let layoutPromise: Promise<GraphLayout> | undefined;
  const layout = () => {
    layoutPromise ??= computeLayout(project.graph).catch((e: unknown) => {
      layoutPromise = undefined;
      throw e;
    });
    return layoutPromise;
  };

  const app = new Hono();
  const onError = errorHandler(log);
  app.onError(onError);
  app.notFound((c) => onError(new NotFoundError(`No route ${c.req.method} ${c.req.path}.`), c));
  const allowed = new Set((opts.allowedHosts ?? LOOPBACK_HOSTS).map((h) => hostName(h)));
  app.use('*', async (c, next) => {
    // A page of another site that resolves its own name to this machine (DNS rebinding) must get nothing.
    const host = hostName(c.req.header('host') ?? new URL(c.req.url).host);
    if (!allowed.has(host)) {
      throw new RequestRefusedError(
        421,
        'HOST_NOT_ALLOWED',
        `This Fairway UI does not answer to host '${host}'. Open it as ${[...allowed].join(' or ')}, or add the name to FAIRWAY_UI_ALLOWED_HOSTS.`,
      );
    }
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'same-origin');
  });
  app.use('*', compress());
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new RequestRefusedError(413, 'BODY_TOO_LARGE', `The request body is over ${MAX_BODY_BYTES} bytes.`);
      },
    }),
  );

  const files = staticFiles();
  for (const [route, f] of files) {
    app.get(route, (c) => {
      c.header('Content-Type', f.type);
      c.header('Cache-Control', 'no-cache');
      return c.body(f.body);
    });
  }
  app.get('/favicon.ico', (c) => c.body(null, 204));
  // Prometheus scrapes this (text exposition format); loaded on the first scrape, not with the UI
  app.get('/metrics', async (c) => {
    const { renderMetrics } = await import('../framework/observability/index.ts');
    const { contentType, text } = await renderMetrics(project, { cache: statusCache });
    c.header('Content-Type', contentType);
    return c.body(text);
  });
  app.route('/api', apiRoutes({ project, token, sessions, runs, layout, statusCache, pollMs: opts.pollMs ?? 500 }));
  app.route('/', pageRoutes({ project, runs, layout, statusCache }));
  return { app, token, runs, warmUp: () => warmAssetPages(project, statusCache) };
}
