import { describe, expect, it } from 'vitest';
import { planBatch } from './index.ts';

// fact_rounds <- silver.telemetry; pace <- fact_rounds; health <- silver.health
const models = new Map<string, string[]>([
  ['gold.fact_rounds', ['silver.telemetry']],
  ['gold.pace', ['gold.fact_rounds']],
  ['gold.health', ['silver.health']],
]);
const none = new Set<string>();

describe('planBatch', () => {
  it('takes every dbt model of the run when their upstream assets are done: one dbt call', () => {
    const inRun = new Set(['silver.telemetry', 'silver.health', 'gold.fact_rounds', 'gold.pace', 'gold.health']);
    const batch = planBatch({
      model: 'gold.fact_rounds',
      models,
      inRun,
      batched: none,
      built: none,
      readyExternal: new Set(['silver.telemetry', 'silver.health']),
    });
    expect(batch).toEqual(['gold.fact_rounds', 'gold.health', 'gold.pace']);
  });

  it('treats upstream assets outside the run as final', () => {
    const batch = planBatch({
      model: 'gold.health',
      models,
      inRun: new Set(['gold.fact_rounds', 'gold.pace', 'gold.health']),
      batched: none,
      built: none,
      readyExternal: new Set(['silver.health']),
    });
    expect(batch).toEqual(['gold.fact_rounds', 'gold.health', 'gold.pace']);
  });

  it('leaves a model whose Silver upstream is still running (and its downstream) to a later batch', () => {
    const inRun = new Set(['silver.telemetry', 'silver.health', 'gold.fact_rounds', 'gold.pace', 'gold.health']);
    const first = planBatch({
      model: 'gold.health',
      models,
      inRun,
      batched: none,
      built: none,
      readyExternal: new Set(['silver.health']),
    });
    expect(first).toEqual(['gold.health']);
    const second = planBatch({
      model: 'gold.fact_rounds',
      models,
      inRun,
      batched: new Set(first),
      built: new Set(first),
      readyExternal: new Set(['silver.health', 'silver.telemetry']),
    });
    expect(second).toEqual(['gold.fact_rounds', 'gold.pace']);
  });

  it('does not rebuild a model on an upstream model still being built by an earlier batch', () => {
    const batch = planBatch({
      model: 'gold.health',
      models,
      inRun: new Set(['gold.fact_rounds', 'gold.pace', 'gold.health']),
      batched: new Set(['gold.fact_rounds']),
      built: none,
      readyExternal: none,
    });
    expect(batch).toEqual(['gold.health']);
  });

  it('builds a downstream model alone once its upstream model was built', () => {
    const batch = planBatch({
      model: 'gold.pace',
      models,
      inRun: new Set(['gold.fact_rounds', 'gold.pace']),
      batched: new Set(['gold.fact_rounds']),
      built: new Set(['gold.fact_rounds']),
      readyExternal: none,
    });
    expect(batch).toEqual(['gold.pace']);
  });
});
