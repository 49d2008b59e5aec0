import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { type AssetDefinition, type AssetKey, defineAssets } from '../definitions/index.ts';
import { buildGraph } from '../graph/index.ts';
import type { MaterializationRecord, RunRecord } from '../storage/index.ts';
import type { ExecutionEvent } from './events.ts';
import { type ExecuteOptions, executePlan } from './execute-plan.ts';
import { buildPlan, type ExecutionPlan } from './plan.ts';

/** What a test run gives back: the plan, the executor's result, its events and outcomes per step id. */
export interface TestRun {
  plan: ExecutionPlan;
  result: Awaited<ReturnType<typeof executePlan>>;
  events: ExecutionEvent[];
  materializations: Map<string, Map<string, MaterializationRecord>>;
  runId: string;
  /** Outcome status per step id. */
  status: Record<string, string>;
  reason: (id: string) => string | null;
}

export interface TestRunOptions
  extends Partial<Pick<ExecuteOptions, 'concurrency' | 'sleep' | 'signal' | 'partitions' | 'materializations'>> {
  /** Default every asset. */
  selected?: AssetKey[];
  pools?: Record<string, number>;
}

let runs = 0;

/**
 * Plans and executes `assets` in memory (no store), for the executor's tests: the events are collected,
 * the log is silent, the state dir is `stateDir` (compute logs).
 */
export async function runPlanForTest(
  assets: AssetDefinition[],
  stateDir: string,
  opts: TestRunOptions = {},
): Promise<TestRun> {
  const defs = defineAssets({ assets, ...(opts.pools ? { pools: opts.pools } : {}) });
  const graph = buildGraph(defs);
  const partitions = opts.partitions ?? new Map();
  const plan = buildPlan({ graph, selected: opts.selected ?? graph.keys(), partitions });
  const events: ExecutionEvent[] = [];
  const materializations = opts.materializations ?? new Map();
  const runId = `run-${++runs}`;
  const result = await executePlan({
    runId,
    plan,
    graph,
    defs,
    materializations,
    partitions,
    stateDir,
    emit: (e) => events.push(e),
    // required here: execution/ is on every command's path, and only tests run this (pino costs ~30 ms to load)
    log: (createRequire(import.meta.url)('pino') as typeof import('pino')).pino({ level: 'silent' }),
    signal: opts.signal ?? new AbortController().signal,
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.sleep ? { sleep: opts.sleep } : {}),
  });
  const status = Object.fromEntries([...result.outcomes].map(([id, o]) => [id, o.status]));
  const reason = (id: string) => result.outcomes.get(id)?.reason ?? null;
  return { plan, result, events, materializations, runId, status, reason };
}

/** A run as this process launches it (STARTED, this pid and host, now), for tests that write runs themselves. */
export function runRecordForTest(runId: string, patch: Partial<RunRecord> = {}): RunRecord {
  const now = new Date().toISOString();
  return {
    run_id: runId,
    selection: '*',
    partition: null,
    stale_only: false,
    status: 'STARTED',
    reason: null,
    pid: process.pid,
    hostname: hostname(),
    created_at: now,
    started_at: now,
    finished_at: null,
    heartbeat_at: now,
    plan: [{ asset_key: 'bronze.a', partition_key: '' }],
    tags: {},
    ...patch,
  };
}
