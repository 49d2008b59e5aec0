import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AssetDefinition,
  type AssetSpec,
  asset,
  hashText,
  type MaterializeContext,
  md,
  staticPartitions,
} from '../definitions/index.ts';
import type { ExecutionEvent } from './index.ts';
import { runPlanForTest, type TestRun, type TestRunOptions } from './run-plan-for-test.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'fairway-exec-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noop = () => undefined;
function run(assets: AssetDefinition[], opts: TestRunOptions = {}) {
  return runPlanForTest(assets, stateDir, opts);
}

const def = (key: string, spec: Partial<AssetSpec> = {}) =>
  asset({ key, codeVersion: `cv-${key}`, materialize: noop, ...spec });

describe('executePlan', () => {
  it('runs steps after their upstreams and emits the event sequence', async () => {
    const order: string[] = [];
    const materialize = (ctx: MaterializeContext) => {
      order.push(ctx.assetKey);
      return {};
    };
    const r = await run([
      def('gold.c', { deps: ['silver.b'], materialize }),
      def('silver.b', { deps: ['bronze.a'], materialize }),
      def('bronze.a', { materialize }),
    ]);
    expect(order).toEqual(['bronze.a', 'silver.b', 'gold.c']);
    expect(r.result).toMatchObject({ status: 'SUCCESS', reason: null });
    const seq = r.events.map((e) => ('asset_key' in e && e.asset_key ? `${e.type} ${e.asset_key}` : e.type));
    expect(seq).toEqual([
      'RUN_STARTED',
      'STEP_STARTED bronze.a',
      'MATERIALIZATION',
      'COMPUTE_LOG bronze.a',
      'STEP_FINISHED bronze.a',
      'STEP_STARTED silver.b',
      'MATERIALIZATION',
      'COMPUTE_LOG silver.b',
      'STEP_FINISHED silver.b',
      'STEP_STARTED gold.c',
      'MATERIALIZATION',
      'COMPUTE_LOG gold.c',
      'STEP_FINISHED gold.c',
      'RUN_FINISHED',
    ]);
    expect(r.events[0]).toEqual({ type: 'RUN_STARTED', run_id: r.runId, steps: 3 });
    expect(r.events.at(-1)).toEqual({ type: 'RUN_FINISHED', run_id: r.runId, status: 'SUCCESS', reason: null });
  });

  it('hands each step its partition, upstream versions and a compute log', async () => {
    const seen: MaterializeContext[] = [];
    const r = await run(
      [
        def('bronze.a', {
          partitions: staticPartitions('course_id', ['x', 'y']),
          materialize: () => ({ dataVersion: 'A' }),
        }),
        def('silver.b', {
          deps: ['bronze.a'],
          partitions: staticPartitions('course_id', ['x', 'y']),
          materialize: (ctx) => {
            seen.push(ctx);
            ctx.computeLog('hello from b');
            return { metadata: { rows: md.rowCount(7) } };
          },
        }),
      ],
      {
        partitions: new Map([
          ['bronze.a', ['course_id=x', 'course_id=y']],
          ['silver.b', ['course_id=x', 'course_id=y']],
        ]),
      },
    );
    expect(r.result.status).toBe('SUCCESS');
    const x = seen.find((c) => c.partitionKey === 'course_id=x')!;
    expect(x.partition).toEqual({ course_id: 'x' });
    expect(x.upstream).toEqual({ 'bronze.a': { key: 'bronze.a', partitions: ['course_id=x'], dataVersion: 'A' } });
    const log = r.events.find(
      (e): e is Extract<ExecutionEvent, { type: 'COMPUTE_LOG' }> =>
        e.type === 'COMPUTE_LOG' && e.asset_key === 'silver.b' && e.partition_key === 'course_id=x',
    )!;
    expect(log.bytes).toBe('hello from b\n'.length);
    expect(readFileSync(join(stateDir, log.path), 'utf8')).toBe('hello from b\n');
    const record = r.materializations.get('silver.b')!.get('course_id=y')!;
    expect(record).toMatchObject({
      run_id: r.runId,
      code_version: 'cv-silver.b',
      input_versions: { 'bronze.a': 'A' },
      deps: ['bronze.a'],
      metadata: { rows: { type: 'row_count', value: 7 } },
    });
  });

  it('never runs more steps at once than the concurrency limit', async () => {
    let now = 0;
    let max = 0;
    const materialize = async () => {
      max = Math.max(max, ++now);
      await delay(20);
      now--;
      return {};
    };
    const assets = Array.from({ length: 8 }, (_, i) => def(`bronze.a${i}`, { materialize }));
    await run(assets, { concurrency: 3 });
    expect(max).toBe(3);
    max = 0;
    await run(assets, { concurrency: 1 });
    expect(max).toBe(1);
  });

  it('retries with doubling backoff and succeeds', async () => {
    let calls = 0;
    const delays: number[] = [];
    const r = await run(
      [
        def('bronze.flaky', {
          retry: { maxRetries: 3, backoffMs: 50 },
          materialize: () => {
            if (++calls < 4) throw new Error(`flake ${calls}`);
            return {};
          },
        }),
      ],
      { sleep: async (ms) => void delays.push(ms) },
    );
    expect(delays).toEqual([50, 100, 200]);
    expect(r.status).toEqual({ 'bronze.flaky': 'SUCCESS' });
    const retries = r.events.filter((e) => e.type === 'STEP_RETRY');
    expect(retries.map((e) => [e.attempt, e.delay_ms, e.error])).toEqual([
      [1, 50, 'flake 1'],
      [2, 100, 'flake 2'],
      [3, 200, 'flake 3'],
    ]);
    expect(r.events.filter((e) => e.type === 'STEP_STARTED').map((e) => e.attempt)).toEqual([1, 2, 3, 4]);
    expect(r.events.find((e) => e.type === 'STEP_FINISHED')).toMatchObject({ status: 'SUCCESS', attempts: 4 });
  });

  it('fails after the last retry with the last error', async () => {
    const delays: number[] = [];
    const r = await run(
      [
        def('bronze.broken', {
          retry: { maxRetries: 2, backoffMs: 50 },
          materialize: () => {
            throw new Error('disk full');
          },
        }),
      ],
      { sleep: async (ms) => void delays.push(ms) },
    );
    expect(delays).toEqual([50, 100]);
    expect(r.status).toEqual({ 'bronze.broken': 'FAILURE' });
    expect(r.reason('bronze.broken')).toBe('disk full');
    expect(r.events.find((e) => e.type === 'STEP_FINISHED')).toMatchObject({ status: 'FAILURE', attempts: 3 });
  });

  it('fails a step whose materializer returns something that is not a result, naming what is wrong', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const r = await run([
      def('bronze.number', { materialize: () => 42 as never }),
      def('bronze.version', { materialize: () => ({ dataVersion: 12345 as never }) }),
      def('bronze.cycle', { materialize: () => ({ metadata: { loop: { type: 'json', value: circular } } }) }),
    ]);
    expect(r.status).toEqual({ 'bronze.number': 'FAILURE', 'bronze.version': 'FAILURE', 'bronze.cycle': 'FAILURE' });
    expect(r.reason('bronze.number')).toMatch(/^the materializer returned number 42; return nothing/);
    expect(r.reason('bronze.version')).toMatch(/^dataVersion must be a string, got number 12345/);
    expect(r.reason('bronze.cycle')).toMatch(/^metadata cannot be stored as JSON \(.*circular/i);
  });

  it('fails a step that exceeds timeoutMs, even if it ignores its signal', async () => {
    const started = Date.now();
    const r = await run([def('bronze.slow', { timeoutMs: 50, materialize: () => new Promise(() => {}) })]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.status).toEqual({ 'bronze.slow': 'FAILURE' });
    expect(r.reason('bronze.slow')).toBe('timed out after 50 ms');
    expect(r.result.status).toBe('FAILURE');
  });

  it('skips everything downstream of a failure, naming the failed step', async () => {
    const ran: string[] = [];
    const r = await run([
      def('bronze.a', {
        materialize: () => {
          throw new Error('no input files');
        },
      }),
      def('silver.b', { deps: ['bronze.a'], materialize: () => void ran.push('b') }),
      def('gold.c', { deps: ['silver.b'], materialize: () => void ran.push('c') }),
      def('bronze.other', { materialize: () => void ran.push('other') }),
    ]);
    expect(ran).toEqual(['other']);
    expect(r.status).toEqual({
      'bronze.a': 'FAILURE',
      'silver.b': 'SKIPPED',
      'gold.c': 'SKIPPED',
      'bronze.other': 'SUCCESS',
    });
    // Skips name the root cause, not the chain of skipped steps in between.
    expect(r.reason('silver.b')).toBe('upstream bronze.a failed: no input files');
    expect(r.reason('gold.c')).toBe('upstream bronze.a failed: no input files');
    expect(r.result).toMatchObject({ status: 'FAILURE', reason: '1 step(s) failed: bronze.a' });
  });

  it('names five failed steps in the run reason and counts the rest', async () => {
    const boom = () => {
      throw new Error('boom');
    };
    const r = await run(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((x) => def(`bronze.${x}`, { materialize: boom })));
    expect(r.result.reason).toBe('7 step(s) failed: bronze.a, bronze.b, bronze.c, bronze.d, bronze.e and 2 more');
  });

  it('skips downstream of a failed blocking error check, not of a failed warn check', async () => {
    const ran: string[] = [];
    const r = await run([
      def('bronze.gated', {
        checks: [
          { name: 'not_empty', blocking: true, evaluate: () => ({ passed: false, failures: 3, description: 'empty' }) },
        ],
      }),
      def('silver.after_gate', { deps: ['bronze.gated'], materialize: () => void ran.push('after_gate') }),
      def('bronze.warned', {
        checks: [{ name: 'row_drift', blocking: true, severity: 'warn', evaluate: () => ({ passed: false }) }],
      }),
      def('silver.after_warn', { deps: ['bronze.warned'], materialize: () => void ran.push('after_warn') }),
    ]);
    expect(ran).toEqual(['after_warn']);
    expect(r.status).toMatchObject({
      'bronze.gated': 'SUCCESS',
      'silver.after_gate': 'SKIPPED',
      'bronze.warned': 'SUCCESS',
      'silver.after_warn': 'SUCCESS',
    });
    expect(r.reason('silver.after_gate')).toBe(
      "upstream blocking check 'not_empty' on bronze.gated failed (3 failing rows): empty",
    );
    expect(r.result.status).toBe('FAILURE');
    expect(r.result.reason).toContain("blocking check failed: blocking check 'not_empty' on bronze.gated failed");
    const checks = r.events.flatMap((e) => (e.type === 'CHECK_EVALUATION' ? [e.record] : []));
    // The two assets run concurrently, so their checks may arrive in either order.
    expect(checks.map((c) => [c.asset_key, c.check_name, c.passed, c.severity, c.blocking]).sort()).toEqual([
      ['bronze.gated', 'not_empty', false, 'error', true],
      ['bronze.warned', 'row_drift', false, 'warn', true],
    ]);
  });

  it('does not gate on a non-blocking error check, but records it', async () => {
    const r = await run([
      def('bronze.a', { checks: [{ name: 'soft', evaluate: () => ({ passed: false }) }] }),
      def('silver.b', { deps: ['bronze.a'] }),
    ]);
    expect(r.status).toEqual({ 'bronze.a': 'SUCCESS', 'silver.b': 'SUCCESS' });
    expect(r.result.status).toBe('SUCCESS');
    expect(r.events.some((e) => e.type === 'CHECK_EVALUATION' && !e.record.passed)).toBe(true);
  });

  it('records a check the materializer did not report as failed', async () => {
    const r = await run([def('bronze.a', { checks: [{ name: 'reported_by_job', blocking: true }] })]);
    const check = r.events.find((e) => e.type === 'CHECK_EVALUATION');
    expect(check).toMatchObject({
      record: { check_name: 'reported_by_job', passed: false, description: expect.stringContaining('did not report') },
    });
    expect(r.result.status).toBe('FAILURE');
  });

  it('cancels running and pending steps on abort', async () => {
    const controller = new AbortController();
    let started!: () => void;
    const isRunning = new Promise<void>((resolve) => {
      started = resolve;
    });
    const pending = run(
      [
        def('bronze.a', {
          materialize: () => {
            started();
            return new Promise(() => {});
          },
        }),
        def('silver.b', { deps: ['bronze.a'] }),
        def('bronze.z', {}),
      ],
      { signal: controller.signal, concurrency: 1 },
    );
    await isRunning;
    controller.abort();
    const r = await pending;
    expect(r.status).toEqual({ 'bronze.a': 'CANCELED', 'silver.b': 'CANCELED', 'bronze.z': 'CANCELED' });
    expect(r.reason('bronze.a')).toBe('the run was canceled');
    expect(r.reason('bronze.z')).toBe('the run was canceled before this step started');
    expect(r.result.status).toBe('CANCELED');
    expect(r.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', status: 'CANCELED' });
    expect(r.materializations.size).toBe(0);
  });

  it('defaults the data version to a hash of the code version and the inputs', async () => {
    const assets = (upstreamVersion: string) => [
      def('bronze.a', { materialize: () => ({ dataVersion: upstreamVersion }) }),
      def('silver.b', { deps: ['bronze.a'] }),
      def('bronze.c', {}),
    ];
    const version = (r: TestRun, key: string) => r.materializations.get(key)!.get('')!.data_version;
    const first = await run(assets('u1'));
    const again = await run(assets('u1'));
    const changed = await run(assets('u2'));
    expect(version(first, 'silver.b')).toBe(hashText('cv-silver.b', 'bronze.a=u1'));
    expect(version(first, 'bronze.c')).toBe(hashText('cv-bronze.c'));
    expect(version(again, 'silver.b')).toBe(version(first, 'silver.b'));
    expect(version(changed, 'silver.b')).not.toBe(version(first, 'silver.b'));
    expect(version(changed, 'bronze.c')).toBe(version(first, 'bronze.c'));
  });

  it('fails a step whose metadata does not match its type', async () => {
    const r = await run([
      def('bronze.a', { materialize: () => ({ metadata: { rows: { type: 'int', value: 1.5 } } }) }),
    ]);
    expect(r.status).toEqual({ 'bronze.a': 'FAILURE' });
    expect(r.materializations.size).toBe(0);
  });
});

describe('executePlan with a misbehaving check', () => {
  it('fails a check that reports malformed metadata instead of crashing the run', async () => {
    const r = await run([
      def('bronze.a', {
        checks: [
          {
            name: 'counts',
            blocking: true,
            evaluate: () => ({ passed: true, metadata: { n: { type: 'int', value: 1.5 } } }),
          },
        ],
      }),
      def('silver.b', { deps: ['bronze.a'] }),
      def('bronze.other', { materialize: () => delay(50).then(() => ({})) }),
    ]);
    expect(r.status).toEqual({ 'bronze.a': 'SUCCESS', 'silver.b': 'SKIPPED', 'bronze.other': 'SUCCESS' });
    const check = r.events.find((e) => e.type === 'CHECK_EVALUATION');
    expect(check).toMatchObject({
      record: { check_name: 'counts', passed: false, metadata: {}, description: expect.stringContaining('n.value') },
    });
    expect(r.events.at(-1)).toMatchObject({ type: 'RUN_FINISHED', status: 'FAILURE' });
  });
});
