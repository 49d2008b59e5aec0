import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { asset, defineAssets } from '../framework/definitions/index.ts';
import { openProject } from '../framework/project/index.ts';
import { createApp } from './app.ts';

describe('live output of a running run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-ui-output-'));
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const defs = defineAssets({
    assets: [
      asset({
        key: 'a.talky',
        codeVersion: 'v1',
        materialize: async (ctx) => {
          ctx.computeLog('first line from the step');
          await released;
          ctx.computeLog('second line from the step');
          return {};
        },
      }),
    ],
  });
  const project = openProject(defs, { root: dir, stateDir: join(dir, 'state') });
  const token = 'a'.repeat(64);
  const ui = createApp(project, { token, pollMs: 50 });
  afterAll(() => {
    project.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams what a step prints while it runs (SSE `output`), then `end`; the run page shows it while active', async () => {
    const launched = await ui.app.request('/api/runs', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ selection: 'a.talky' }),
    });
    expect(launched.status).toBe(202);
    const { run_id: runId } = (await launched.json()) as { run_id: string };

    const res = await ui.app.request(`/api/runs/${runId}/output`);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      const deadline = Date.now() + 10_000;
      while (!text.includes(needle) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil('first line from the step');
    // the step has printed its first line and is waiting: the run is still going
    expect(text).toMatch(/event: output\ndata: \{"step":"a\.talky","lines":\["first line from the step"\]\}/);
    expect(project.store.getRun(runId)!.status).toBe('STARTED');
    expect(await (await ui.app.request(`/runs/${runId}`)).text()).toContain('id="live-output"');

    release();
    await readUntil('event: end');
    expect(text).toContain('second line from the step');
    expect(text).toMatch(/event: end\ndata: \{"status":"SUCCESS"/);
    // a finished run: the whole log at once, then the end; its page has no live section
    const again = await (await ui.app.request(`/api/runs/${runId}/output`)).text();
    expect(again).toContain('"lines":["first line from the step","second line from the step"]');
    for (let i = 0; i < 100 && ui.runs.isLive(runId); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await (await ui.app.request(`/runs/${runId}`)).text()).not.toContain('id="live-output"');
    expect((await ui.app.request('/api/runs/NOPE/output')).status).toBe(404);
  });
});
