import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { asset, defineAssets, multiAsset } from '../framework/definitions/index.ts';
import { openProject } from '../framework/project/index.ts';
import { whyCommand } from './commands.ts';

describe('fairway why', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-why-'));
  const job = multiAsset({
    name: 'clean_job',
    codeVersion: 'v1',
    outputs: [
      {
        key: 'silver.facts',
        checks: [{ name: 'gate', scope: 'asset', blocking: true, severity: 'error' }],
        evaluateAssetChecks: async () => [],
      },
      { key: 'silver.health' },
    ],
    materialize: () => ({ outputs: {} }),
  });
  const gold = asset({ key: 'gold.health', deps: ['silver.health'], codeVersion: 'v1', materialize: () => ({}) });
  const project = openProject(defineAssets({ assets: [...job, gold] }), { root: dir, stateDir: join(dir, 'state') });
  afterAll(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("names a failed gate of the asset's multi-asset sibling, with its description", async () => {
    project.store.recordCheckEvaluations([
      {
        asset_key: 'silver.facts',
        partition_key: '',
        check_name: 'gate',
        run_id: 'r1',
        ts: '2026-12-04T12:00:00.000Z',
        passed: false,
        severity: 'error',
        blocking: true,
        failures: 3,
        description: 'tested on unpublished branch audit_r1; main unchanged',
        metadata: {},
      },
    ]);
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    try {
      expect(await whyCommand(project, 'gold.health', {})).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(out.join('')).toContain(
      "blocking check 'gate' on silver.facts failed in run r1 (3 failing rows): tested on unpublished branch audit_r1",
    );
  });
});
