/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import { type Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import { buildRunSummary } from '../../framework/execution/index.ts';
import type { Project, StatusCache } from '../../framework/project/index.ts';
import type { MaterializationRecord } from '../../framework/storage/index.ts';
import { NotFoundError } from '../errors.ts';
import type { GraphLayout } from '../layout.ts';
import { assetDetail, assetSummaries, listRuns, runDetail } from '../queries.ts';
import type { RunRegistry } from '../run-registry.ts';
import { tableRefOf } from '../table-reader.ts';
import { AssetParams, DaemonQuery, LogQuery, RunParams, RunsQuery, validate } from '../validate.ts';
import { AssetPage } from './asset-page.tsx';
import { DaemonPage } from './daemon-page.tsx';
import { GraphPage } from './graph-page.tsx';
import { RunPage } from './run-page.tsx';
import { RunsPage } from './runs-page.tsx';

const render = (c: Context, page: Child) => c.html(html`<!doctype html>${page}`);

/** Server-rendered HTML pages. */
export function pageRoutes(deps: {
  project: Project;
  runs: RunRegistry;
  layout: () => Promise<GraphLayout>;
  statusCache: StatusCache;
}): Hono {
  const { project } = deps;
  const pages = new Hono();

  pages.get('/', async (c) => {
    const [layout, assets] = await Promise.all([deps.layout(), assetSummaries(project, deps.statusCache)]);
    return render(c, <GraphPage layout={layout} assets={assets} />);
  });

  pages.get('/assets/:key', validate('param', AssetParams), validate('query', LogQuery), async (c) => {
    const { key } = c.req.valid('param');
    const detail = await assetDetail(project, key, c.req.valid('query').partition, deps.statusCache);
    const history = project.store.materializationHistory(key, { limit: 25 }).items;
    let schemaFrom: MaterializationRecord | null = null;
    for (const m of [detail.latest, ...history]) {
      if (m?.metadata.table_schema?.type === 'table_schema') {
        schemaFrom = m;
        break;
      }
    }
    const hooks = project.defs.hooks.assetPage;
    const { latest } = detail;
    const sections = latest
      ? ((await hooks?.sections?.({ assetKey: key, partitionKey: latest.partition_key, metadata: latest.metadata })) ??
        [])
      : [];
    return render(
      c,
      <AssetPage
        detail={detail}
        history={history}
        schemaFrom={schemaFrom}
        table={tableRefOf(project, key)}
        leadingMetrics={hooks?.leadingMetrics}
        sections={sections}
      />,
    );
  });

  pages.get('/runs', validate('query', RunsQuery), (c) => {
    const q = c.req.valid('query');
    const page = listRuns(project, {
      limit: q.limit,
      ...(q.status ? { status: q.status } : {}),
      ...(q.before ? { before: q.before } : {}),
    });
    return render(
      c,
      <RunsPage runs={page.items} next={page.next === null ? null : String(page.next)} status={q.status} />,
    );
  });

  pages.get('/daemon', validate('query', DaemonQuery), (c) => {
    const q = c.req.valid('query');
    const { store } = project;
    // with an asset: older ticks are read until 20 that decided something about it are found (or 20 pages)
    const ticks: {
      tick: ReturnType<typeof store.listTicks>['items'][number];
      decisions: ReturnType<typeof store.tickDecisions>;
    }[] = [];
    let before = q.before;
    let next: number | null = null;
    for (let page = 0; page < 20 && ticks.length < 20; page++) {
      const listed = store.listTicks({ limit: 20, ...(before !== undefined ? { before } : {}) });
      const decisions = store.tickDecisions(listed.items.map((t) => t.tick_id));
      for (const tick of listed.items) {
        const mine = decisions.filter((d) => d.tick_id === tick.tick_id && (!q.asset || d.asset_key === q.asset));
        if (!q.asset || mine.some((d) => d.action !== 'defer')) ticks.push({ tick, decisions: mine });
        if (ticks.length === 20 && tick !== listed.items.at(-1)) {
          listed.next = tick.tick_id; // a full page before this page's end: go on from here
          break;
        }
      }
      next = listed.next === null ? null : Number(listed.next);
      if (next === null || !q.asset) break;
      before = next;
    }
    return render(c, <DaemonPage ticks={ticks} next={next} asset={q.asset} />);
  });

  pages.get('/runs/:id', validate('param', RunParams), (c) => {
    const { id } = c.req.valid('param');
    const d = runDetail(project, id);
    return render(
      c,
      <RunPage
        run={d.run}
        events={d.events}
        attempts={d.step_attempts}
        summary={buildRunSummary(project.store, d.run)}
        logs={d.compute_logs}
        launchedBy={project.store.decisionsOfRun(id)}
      />,
    );
  });

  pages.get('*', (c) => {
    throw new NotFoundError(`No page at ${c.req.path}.`);
  });
  return pages;
}
