import { defaultStorePath, openStore } from '../../framework/storage/index.ts';
import type { SyntheticGraph } from './generate-graph.ts';

/**
 * What `fairway materialize '*'` leaves behind (a materialization and a step attempt per asset), plus a
 * newer version of every changed root so part of the graph is STALE. Written straight to the store so
 * 10k assets seed in seconds; the core benchmark's 1k run measures the real path.
 */
export function seedStore(stateDir: string, graph: SyntheticGraph): void {
  const store = openStore(defaultStorePath(stateDir));
  try {
    const ts = (offsetMs: number) => new Date(Date.UTC(2026, 0, 1) + offsetMs).toISOString();
    graph.assets.forEach((a, i) => {
      store.recordMaterialization({
        asset_key: a.key,
        partition_key: '',
        run_id: 'seed',
        ts: ts(i),
        data_version: 'v1',
        code_version: 'v1',
        input_versions: Object.fromEntries(a.deps.map((d) => [d, 'v1'])),
        deps: a.deps,
        metadata: {},
      });
      store.recordStepAttempt({
        asset_key: a.key,
        partition_key: '',
        run_id: 'seed',
        status: 'SUCCESS',
        started_at: ts(i),
        finished_at: ts(i),
        duration_ms: 1,
        attempts: 1,
        reason: null,
      });
    });
    for (const key of graph.changedRoots) {
      store.recordMaterialization({
        asset_key: key,
        partition_key: '',
        run_id: 'change',
        ts: ts(graph.size + 1),
        data_version: 'v2',
        code_version: 'v1',
        input_versions: {},
        deps: [],
        metadata: {},
      });
    }
  } finally {
    store.close();
  }
}
