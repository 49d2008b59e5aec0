import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../definitions/index.ts';
import { launchRun } from '../execution/index.ts';
import { openProject } from '../project/index.ts';
import { Daemon, RETENTION_CURSOR } from './index.ts';

const DAY = 24 * 60 * 60 * 1000;

describe('daemon retention (--retain)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-retain-'));
  const project = openProject(defineAssets({ assets: [asset({ key: 'a.one', materialize: () => ({}) })] }), {
    root: dir,
    stateDir: join(dir, 'state'),
  });
  afterAll(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('forgets runs older than the window once a day, keeping what the latest state needs', async () => {
    const first = (await launchRun(project, { selection: 'a.one' })).run.run_id;
    const second = (await launchRun(project, { selection: 'a.one' })).run.run_id;
    let now = new Date(Date.now() + 40 * DAY);
    const daemon = new Daemon(project, { retainMs: 30 * DAY, clock: () => now, intervalMs: 60_000 });
    try {
      await daemon.tick();
      expect(project.store.getRun(first)).toBeUndefined(); // its materialization was replaced by the second run's
      expect(existsSync(join(project.stateDir, 'runs', first))).toBe(false);
      expect(project.store.getRun(second)).toBeDefined(); // owns the latest materialization
      expect(project.store.getCursor(RETENTION_CURSOR)).toBe(now.toISOString());
      // a run finishing now is forgotten only by a later day's pass
      const third = (await launchRun(project, { selection: 'a.one' })).run.run_id;
      now = new Date(now.getTime() + 60_000);
      await daemon.tick();
      expect(project.store.getCursor(RETENTION_CURSOR)).not.toBe(now.toISOString());
      expect(project.store.getRun(third)).toBeDefined();
    } finally {
      await daemon.stop();
    }
  });
});
