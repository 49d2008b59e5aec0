import { existsSync, readFileSync } from 'node:fs';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ComputeLogTail } from '../framework/execution/index.ts';
import { reapDeadRuns } from '../framework/judging/index.ts';
import type { Project, StatusCache } from '../framework/project/index.ts';
import { resolveSelection } from '../framework/selection/index.ts';
import { ACTIVE_RUN_STATUSES } from '../framework/states/index.ts';
import {
  type Canceling,
  type HistoryPage,
  LaunchBody,
  type Launched,
  type SelectionAnswer,
  type SessionAnswer,
} from './api-schemas.ts';
import { isLoopbackAddress, isLoopbackHost, requireToken, type Sessions } from './auth.ts';
import { ConflictError, NotFoundError } from './errors.ts';
import type { GraphLayout } from './layout.ts';
import { openApiDocument } from './openapi.ts';
import { assetDetail, assetSummaries, listRuns, numericMetadata, resolveLogPath, runDetail } from './queries.ts';
import type { RunRegistry } from './run-registry.ts';
import { tableReader } from './table-reader.ts';
import {
  AssetParams,
  AssetsQuery,
  EventsQuery,
  HistoryQuery,
  LogParams,
  LogQuery,
  PreviewQuery,
  RunParams,
  RunsQuery,
  SelectionQuery,
  validate,
} from './validate.ts';

export interface ApiDeps {
  project: Project;
  token: string;
  sessions: Sessions;
  runs: RunRegistry;
  layout: () => Promise<GraphLayout>;
  /** Judged staleness kept between requests (see `StatusCache`). */
  statusCache: StatusCache;
  /** Poll interval of the SSE event stream (ms). */
  pollMs: number;
}

/** How long a computed `/api/graph` answer is reused: bounds how stale a polled status can be. */
export const GRAPH_CACHE_MS = 1000;

/**
 * Single-flight with a short time-to-live: concurrent callers share one computation, and callers within
 * `ttlMs` of its end reuse the answer. Staleness is computed from the whole store, so without this 50 open
 * lineage pages polling at once would each pay for it.
 */
export function sharedRecent<T>(compute: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let pending: Promise<T> | undefined;
  let value: { at: number; v: T } | undefined;
  return () => {
    if (value && Date.now() - value.at < ttlMs) return Promise.resolve(value.v);
    pending ??= compute()
      .then((v) => {
        value = { at: Date.now(), v };
        return v;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

function remoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // not served by @hono/node-server (app.request in tests): treat as remote
  }
}

/** The JSON API under /api. */
export function apiRoutes(deps: ApiDeps): Hono {
  const { project, runs } = deps;
  const { store } = project;
  const api = new Hono();
  const guard = requireToken(deps.token, deps.sessions);

  api.get('/assets', validate('query', AssetsQuery), async (c) => {
    const { status, group } = c.req.valid('query');
    const rows = (await assetSummaries(project, deps.statusCache)).filter(
      (r) => (!status || r.status === status) && (!group || r.group === group),
    );
    return c.json({ assets: rows });
  });

  // Serialized once per computation: at 10k assets the JSON is megabytes.
  const graphBody = sharedRecent(async () => {
    const [layout, rows] = await Promise.all([deps.layout(), assetSummaries(project, deps.statusCache)]);
    const byKey = new Map(rows.map((r) => [r.key, r]));
    return JSON.stringify({
      engine: layout.engine,
      width: layout.width,
      height: layout.height,
      groups: layout.groups,
      edges: layout.edges,
      nodes: layout.nodes.map((n) => {
        const r = byKey.get(n.key)!;
        return {
          ...n,
          group: r.group,
          kinds: r.kinds,
          status: r.status,
          checks: r.checks.badge,
          freshness: r.freshness?.state ?? null,
        };
      }),
    });
  }, GRAPH_CACHE_MS);

  api.get('/graph', async (c) => {
    c.header('Content-Type', 'application/json');
    return c.body(await graphBody());
  });

  api.get('/assets/:key', validate('param', AssetParams), async (c) =>
    c.json(await assetDetail(project, c.req.valid('param').key, undefined, deps.statusCache)),
  );

  api.get('/assets/:key/history', validate('param', AssetParams), validate('query', HistoryQuery), (c) => {
    const { key } = c.req.valid('param');
    if (!project.graph.has(key)) throw new NotFoundError(`Asset '${key}' is not defined.`, { asset_key: key });
    const q = c.req.valid('query');
    const page = store.materializationHistory(key, {
      limit: q.limit,
      ...(q.partition !== undefined ? { partition: q.partition } : {}),
      ...(q.before !== undefined ? { before: q.before } : {}),
    });
    return c.json({
      items: page.items.map((m) => ({ ...m, numeric: numericMetadata(m.metadata) })),
      next: page.next,
    } satisfies HistoryPage);
  });

  // Read on demand through the definitions' table hooks (Trino or a Spark session), reused briefly.
  const tables = tableReader(project);
  api.get('/assets/:key/table', validate('param', AssetParams), async (c) =>
    c.json(await tables.metadata(c.req.valid('param').key)),
  );
  api.get('/assets/:key/preview', validate('param', AssetParams), validate('query', PreviewQuery), async (c) =>
    c.json(await tables.preview(c.req.valid('param').key, c.req.valid('query').limit)),
  );

  api.get('/runs', validate('query', RunsQuery), (c) => {
    const q = c.req.valid('query');
    return c.json(
      listRuns(project, {
        limit: q.limit,
        ...(q.status ? { status: q.status } : {}),
        ...(q.before ? { before: q.before } : {}),
      }),
    );
  });

  api.get('/runs/:id', validate('param', RunParams), (c) => {
    const { id } = c.req.valid('param');
    return c.json({ ...runDetail(project, id), live: runs.isLive(id) });
  });

  api.get('/runs/:id/events', validate('param', RunParams), validate('query', EventsQuery), (c) => {
    const { id } = c.req.valid('param');
    if (!store.getRun(id)) throw new NotFoundError(`No run '${id}'.`, { run_id: id });
    const header = Number(c.req.header('last-event-id'));
    let after = Number.isInteger(header) && header >= 0 ? header : (c.req.valid('query').after ?? 0);
    return streamSSE(c, async (stream) => {
      const aborted = new AbortController();
      stream.onAbort(() => aborted.abort());
      let lastWrite = Date.now();
      for (let tick = 0; !aborted.signal.aborted; tick++) {
        const events = store.getEvents(id, { afterId: after, limit: 500 });
        for (const e of events) {
          after = e.event_id ?? after;
          await stream.writeSSE({ id: String(after), event: 'run-event', data: JSON.stringify(e) });
          lastWrite = Date.now();
        }
        if (events.length === 500) continue;
        if (tick % 20 === 19 && !runs.isLive(id)) reapDeadRuns(store);
        const run = store.getRun(id)!;
        if (!ACTIVE_RUN_STATUSES.includes(run.status)) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: run.status, reason: run.reason }) });
          return;
        }
        if (Date.now() - lastWrite > 15_000) {
          await stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await runs.waitForEvent(id, deps.pollMs, aborted.signal);
      }
    });
  });

  // The steps' compute logs as they are written (a Spark job's output while it runs), over SSE: `output`
  // events `{ step, lines }` from the start of each log, then `end` once the run has finished.
  api.get('/runs/:id/output', validate('param', RunParams), (c) => {
    const { id } = c.req.valid('param');
    if (!store.getRun(id)) throw new NotFoundError(`No run '${id}'.`, { run_id: id });
    const tail = new ComputeLogTail(project.stateDir, id);
    return streamSSE(c, async (stream) => {
      const aborted = new AbortController();
      stream.onAbort(() => aborted.abort());
      let lastWrite = Date.now();
      for (let tick = 0; !aborted.signal.aborted; tick++) {
        if (tick % 20 === 19 && !runs.isLive(id)) reapDeadRuns(store);
        const run = store.getRun(id)!;
        const finished = !ACTIVE_RUN_STATUSES.includes(run.status);
        for (const chunk of tail.read(finished)) {
          await stream.writeSSE({ event: 'output', data: JSON.stringify(chunk) });
          lastWrite = Date.now();
        }
        if (finished) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ status: run.status, reason: run.reason }) });
          return;
        }
        if (Date.now() - lastWrite > 15_000) {
          await stream.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await runs.waitForEvent(id, deps.pollMs, aborted.signal);
      }
    });
  });

  api.get('/runs/:id/logs/:asset', validate('param', LogParams), validate('query', LogQuery), (c) => {
    const { id, asset } = c.req.valid('param');
    const partition = c.req.valid('query').partition ?? '';
    if (!store.getRun(id)) throw new NotFoundError(`No run '${id}'.`, { run_id: id });
    const log = store
      .computeLogs(id)
      .filter((l) => l.asset_key === asset && l.partition_key === partition)
      .at(-1);
    if (!log) {
      throw new NotFoundError(`Run ${id} has no compute log for '${asset}'${partition ? ` [${partition}]` : ''}.`, {
        run_id: id,
        asset_key: asset,
      });
    }
    const path = resolveLogPath(project.stateDir, log.path);
    if (!existsSync(path)) throw new NotFoundError(`The compute log file ${log.path} is gone.`, { path: log.path });
    c.header('Content-Type', 'text/plain; charset=utf-8');
    return c.body(readFileSync(path, 'utf8'));
  });

  api.post('/runs', guard, validate('json', LaunchBody), async (c) => {
    const body = c.req.valid('json');
    const runId = await runs.launch(project, {
      selection: body.selection,
      ...(body.partition ? { partition: body.partition } : {}),
      ...(body.staleOnly ? { staleOnly: true } : {}),
    });
    return c.json({ run_id: runId, url: `/runs/${runId}` } satisfies Launched, 202);
  });

  api.post('/runs/:id/cancel', guard, validate('param', RunParams), (c) => {
    const { id } = c.req.valid('param');
    const run = store.getRun(id);
    if (!run) throw new NotFoundError(`No run '${id}'.`, { run_id: id });
    if (!ACTIVE_RUN_STATUSES.includes(run.status))
      throw new ConflictError(`Run ${id} already finished (${run.status}).`, { run_id: id });
    // a run of this server stops at once; one launched elsewhere (CLI, daemon) stops when its process polls
    if (!runs.cancel(id) && !store.requestCancel(id, 'canceled from the UI', new Date().toISOString())) {
      throw new ConflictError(`Run ${id} already finished.`, { run_id: id });
    }
    return c.json({ run_id: id, status: 'CANCELING' } satisfies Canceling, 202);
  });

  api.get('/selection', validate('query', SelectionQuery), (c) => {
    const q = c.req.valid('query').q;
    return c.json({ selection: q, keys: resolveSelection(project.graph, q) } satisfies SelectionAnswer);
  });

  api.get('/session', (c) => {
    if (!isLoopbackAddress(remoteAddress(c)) || !isLoopbackHost(new URL(c.req.url).host)) {
      return c.json({
        can_launch: false,
        reason: "Launching from the browser works on localhost only; elsewhere send 'Authorization: Bearer <token>'.",
      } satisfies SessionAnswer);
    }
    return c.json({ can_launch: true, csrf_token: deps.sessions.open(c) } satisfies SessionAnswer);
  });

  api.get('/openapi.json', (c) => c.json(openApiDocument()));

  api.all('*', (c) => {
    throw new NotFoundError(`No API route ${c.req.method} ${c.req.path}. See /api/openapi.json.`);
  });
  return api;
}
