import type { AssetKey, Definitions, LineageDataset, Metadata } from '../definitions/index.ts';
import type { ExecutionEvent, ExecutionPlan, PlanGraph } from '../execution/index.ts';
import type { CheckEvaluationRecord } from '../storage/index.ts';
import {
  FAIRWAY_PRODUCER,
  type Facet,
  facet,
  OPENLINEAGE_SCHEMA_URL,
  type RunEvent,
  runUuid,
  stableUuid,
} from './run-event.ts';

/** The job every Fairway run is, as the parent of its steps' runs. */
export const RUN_JOB_NAME = 'fairway.run';

export interface LineageEmitterOptions {
  runId: string;
  /** The job namespace (`FAIRWAY_OPENLINEAGE_NAMESPACE`). */
  namespace: string;
  plan: ExecutionPlan;
  graph: PlanGraph;
  hooks: Pick<Definitions['hooks'], 'lineageDatasetOf'>;
  send: (event: RunEvent) => void;
}

/** What a step's run has seen so far. */
interface StepRun {
  stepId: string;
  kind: 'materialize' | 'checks';
  job: string;
  /** The assets it writes (materialize) or checks (checks). */
  assets: AssetKey[];
  /** A checks step's outputs: the materializations it published (write-audit-publish), as they arrive. */
  published: AssetKey[];
  /** Members started and not finished yet (`asset\0partition`). */
  open: Set<string>;
  started: boolean;
  ended: boolean;
  statuses: { FAILURE: number; CANCELED: number; other: number };
  firstError: string | null;
  rows: Map<AssetKey, number>;
  snapshot: Map<AssetKey, string>;
  /** Data versions written per asset: one is the dataset's version (when no snapshot id says it). */
  versions: Map<AssetKey, Set<string>>;
  schema: Map<AssetKey, { name: string; type: string }[]>;
  checks: Map<AssetKey, Map<string, boolean>>;
}

const memberKey = (asset: AssetKey, partition: string) => `${asset}\u0000${partition}`;
const checksKey = (asset: AssetKey) => `checks\u0000${asset}`;

const jobFacets = (jobType: string) => ({
  jobType: facet('jobType', { processingType: 'BATCH', integration: 'FAIRWAY', jobType }),
});

/**
 * Turns the executor's typed events of one run into OpenLineage run events: a START and a COMPLETE, FAIL or
 * ABORT for the run (job `fairway.run`) and for every step that started (job = the asset, the multi-asset's
 * name, or `<asset>.checks`), each step linked to the run by a parent facet. A step's inputs are the assets its
 * outputs read outside it, its outputs what it writes, with the schema, row count (`outputStatistics`), data
 * version (an Iceberg snapshot id when the metadata has one) and check results (`dataQualityAssertions`). A
 * batched step is one run however many partitions it covers. Call `finish` once with the run's final status.
 */
export function lineageEmitter(opts: LineageEmitterOptions): {
  onEvent: (e: ExecutionEvent) => void;
  finish: (status: 'SUCCESS' | 'FAILURE' | 'CANCELED', reason: string | null) => void;
} {
  const { runId, namespace, graph, send } = opts;
  const parentRunId = runUuid(runId);
  const parent = facet('parent', {
    job: { namespace, name: RUN_JOB_NAME },
    run: { runId: parentRunId },
    root: { job: { namespace, name: RUN_JOB_NAME }, run: { runId: parentRunId } },
  });
  const datasetOf = (key: AssetKey): LineageDataset => opts.hooks.lineageDatasetOf?.(key) ?? { namespace, name: key };
  const now = () => new Date().toISOString();
  const base = { producer: FAIRWAY_PRODUCER, schemaURL: OPENLINEAGE_SCHEMA_URL };

  const steps = new Map<string, StepRun>();
  const byMember = new Map<string, StepRun>();
  for (const step of opts.plan.steps) {
    const definition = graph.definition(step.asset_key);
    const run: StepRun = {
      stepId: step.id,
      kind: step.kind,
      job: step.kind === 'checks' ? `${step.asset_key}.checks` : (definition.multi?.name ?? step.asset_key),
      assets: [...step.outputs],
      published: [],
      open: new Set(),
      started: false,
      ended: false,
      statuses: { FAILURE: 0, CANCELED: 0, other: 0 },
      firstError: null,
      rows: new Map(),
      snapshot: new Map(),
      versions: new Map(),
      schema: new Map(),
      checks: new Map(),
    };
    steps.set(step.id, run);
    if (step.kind === 'checks') byMember.set(checksKey(step.asset_key), run);
    else for (const p of step.partitions) for (const o of step.outputs) byMember.set(memberKey(o, p.key), run);
  }

  const inputsOf = (s: StepRun): AssetKey[] => {
    if (s.kind === 'checks') return s.assets;
    const own = new Set(s.assets);
    const deps = new Set<AssetKey>();
    for (const a of s.assets) for (const d of graph.definition(a).deps) if (!own.has(d)) deps.add(d);
    return [...deps].sort();
  };

  const assertions = (s: StepRun, key: AssetKey) => {
    const results = s.checks.get(key);
    if (!results || results.size === 0) return undefined;
    return facet('dataQualityAssertions', {
      assertions: [...results].map(([assertion, success]) => ({ assertion, success })),
    });
  };

  const outputFacets = (s: StepRun, key: AssetKey) => {
    const facets: Record<string, Facet> = {};
    const fields = s.schema.get(key);
    if (fields) facets.schema = facet('schema', { fields });
    const versions = s.versions.get(key);
    const version = s.snapshot.get(key) ?? (versions?.size === 1 ? [...versions][0] : undefined);
    if (version) facets.version = facet('version', { datasetVersion: version });
    const checked = assertions(s, key);
    if (checked) facets.dataQualityAssertions = checked;
    const rows = s.rows.get(key);
    return {
      ...(Object.keys(facets).length > 0 ? { facets } : {}),
      ...(rows !== undefined
        ? { outputFacets: { outputStatistics: facet('outputStatistics', { rowCount: rows }) } }
        : {}),
    };
  };

  const stepEvent = (s: StepRun, eventType: RunEvent['eventType']): RunEvent => {
    const terminal = eventType !== 'START';
    const runFacets: Record<string, Facet> = { parent };
    if (eventType === 'FAIL' && s.firstError) {
      runFacets.errorMessage = facet('errorMessage', {
        message: s.firstError,
        programmingLanguage: 'JavaScript',
      });
    }
    return {
      ...base,
      eventType,
      eventTime: now(),
      run: { runId: stableUuid(runId, s.stepId), facets: runFacets },
      job: { namespace, name: s.job, facets: jobFacets(s.kind === 'checks' ? 'ASSET_CHECKS' : 'ASSET') },
      inputs: inputsOf(s).map((key) => {
        const checked = terminal && s.kind === 'checks' ? assertions(s, key) : undefined;
        return { ...datasetOf(key), ...(checked ? { inputFacets: { dataQualityAssertions: checked } } : {}) };
      }),
      outputs: (s.kind === 'checks' ? s.published : s.assets).map((key) => ({
        ...datasetOf(key),
        ...(terminal ? outputFacets(s, key) : {}),
      })),
    };
  };

  const runEvent = (eventType: RunEvent['eventType'], reason: string | null): RunEvent => ({
    ...base,
    eventType,
    eventTime: now(),
    run: {
      runId: parentRunId,
      ...(eventType === 'FAIL' && reason
        ? { facets: { errorMessage: facet('errorMessage', { message: reason, programmingLanguage: 'JavaScript' }) } }
        : {}),
    },
    job: { namespace, name: RUN_JOB_NAME, facets: jobFacets('RUN') },
    inputs: [],
    outputs: [],
  });

  const recordMetadata = (s: StepRun, key: AssetKey, dataVersion: string, md: Metadata) => {
    // `row_count` is the rows written (md.rowCount): other keys (files, bytes…) mean different things per asset
    const rows = md.row_count;
    if (rows && (rows.type === 'row_count' || rows.type === 'int'))
      s.rows.set(key, (s.rows.get(key) ?? 0) + rows.value);
    const snapshot = md.snapshot_id;
    if (snapshot?.type === 'text') s.snapshot.set(key, snapshot.value);
    const schema = md.table_schema;
    if (schema?.type === 'table_schema')
      s.schema.set(
        key,
        schema.value.map((f) => ({ name: f.name, type: f.type })),
      );
    const versions = s.versions.get(key) ?? new Set<string>();
    versions.add(dataVersion);
    s.versions.set(key, versions);
  };

  const recordCheck = (record: CheckEvaluationRecord) => {
    // an asset's checks step, while it runs, owns the asset's check results; otherwise the step writing it
    const checksStep = byMember.get(checksKey(record.asset_key));
    const s =
      checksStep?.started && !checksStep.ended
        ? checksStep
        : byMember.get(memberKey(record.asset_key, record.partition_key));
    if (!s?.started) return;
    const results = s.checks.get(record.asset_key) ?? new Map<string, boolean>();
    // a check over many partitions succeeds only if it passed on every one
    results.set(record.check_name, (results.get(record.check_name) ?? true) && record.passed);
    s.checks.set(record.asset_key, results);
  };

  const onEvent = (e: ExecutionEvent) => {
    switch (e.type) {
      case 'RUN_STARTED':
        send(runEvent('START', null));
        break;
      case 'STEP_STARTED': {
        const key = e.kind === 'checks' ? checksKey(e.asset_key) : memberKey(e.asset_key, e.partition_key);
        const s = byMember.get(key);
        if (!s || s.ended) break;
        s.open.add(key);
        if (!s.started) {
          s.started = true;
          send(stepEvent(s, 'START'));
        }
        break;
      }
      case 'MATERIALIZATION': {
        const r = e.record;
        const s = byMember.get(memberKey(r.asset_key, r.partition_key));
        if (s?.started && !s.ended) recordMetadata(s, r.asset_key, r.data_version, r.metadata);
        else {
          // write-audit-publish: recorded once the publisher's checks passed and it published, in its checks step
          const publisher = graph.definition(r.asset_key).publishedBy;
          const c = publisher ? byMember.get(checksKey(publisher)) : undefined;
          if (!c?.started || c.ended) break;
          if (!c.published.includes(r.asset_key)) c.published.push(r.asset_key);
          recordMetadata(c, r.asset_key, r.data_version, r.metadata);
        }
        break;
      }
      case 'CHECK_EVALUATION':
        recordCheck(e.record);
        break;
      case 'STEP_FINISHED': {
        const key = e.kind === 'checks' ? checksKey(e.asset_key) : memberKey(e.asset_key, e.partition_key);
        const s = byMember.get(key);
        // a member skipped before its step started is no part of any OpenLineage run
        if (!s?.started || s.ended || !s.open.delete(key)) break;
        if (e.status === 'FAILURE') {
          s.statuses.FAILURE++;
          s.firstError ??= `${e.asset_key}${e.partition_key ? `[${e.partition_key}]` : ''}: ${e.reason ?? 'failed'}`;
        } else if (e.status === 'CANCELED') s.statuses.CANCELED++;
        else s.statuses.other++;
        if (s.open.size > 0) break;
        s.ended = true;
        send(stepEvent(s, s.statuses.FAILURE > 0 ? 'FAIL' : s.statuses.CANCELED > 0 ? 'ABORT' : 'COMPLETE'));
        break;
      }
      default:
        break;
    }
  };

  const finish = (status: 'SUCCESS' | 'FAILURE' | 'CANCELED', reason: string | null) => {
    // a step cut short (the process is stopping) still gets its end
    for (const s of steps.values()) {
      if (!s.started || s.ended) continue;
      s.ended = true;
      send(stepEvent(s, status === 'CANCELED' ? 'ABORT' : 'FAIL'));
    }
    send(runEvent(status === 'SUCCESS' ? 'COMPLETE' : status === 'CANCELED' ? 'ABORT' : 'FAIL', reason));
  };

  return { onEvent, finish };
}
