import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { type MaterializeContext, type MaterializeResult, md } from '../framework/definitions/index.ts';
import { bronzeAssets } from './bronze.ts';
import { discoverInbox } from './lib/inbox.ts';
import { openLakehouse } from './lib/lakehouse.ts';

vi.mock('./lib/inbox.ts', async (actual) => {
  const mod = await actual<typeof import('./lib/inbox.ts')>();
  return { ...mod, discoverInbox: vi.fn(mod.discoverInbox) };
});

const repoRoot = resolve(import.meta.dirname, '..');
/** Root reads a file whatever its mode, so a chmod 000 file is unreadable only to other users. */
const isRoot = process.getuid?.() === 0;
const exportJson = (id: string) => `[{"_id":"${id}","course":"American Falls","locations":[]}]\n`;

/** `bronze.round_exports` on a throwaway embedded state dir, and a way to materialize one of its partitions. */
function bronze(settleSeconds: string) {
  const stateDir = mkdtempSync(join(tmpdir(), 'fairway-bronze-asset-'));
  const lake = openLakehouse(repoRoot, stateDir, { FAIRWAY_BRONZE_SETTLE_SECONDS: settleSeconds });
  const asset = bronzeAssets(lake)[0]!;
  const day = (ingestDate: string) => {
    const dir = join(lake.config.inboxDir, 'americanfalls', ingestDate);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const materialize = async (ingestDate: string, runId = 'run1') => {
    const lines: string[] = [];
    const partition = { course_id: 'americanfalls', ingest_date: ingestDate };
    const ctx = {
      runId,
      assetKey: asset.key,
      partitionKey: `course_id=americanfalls,ingest_date=${ingestDate}`,
      partition,
      log: pino({ level: 'silent' }),
      computeLog: (line: string) => lines.push(line),
    } as unknown as MaterializeContext;
    const result = (await asset.materialize(ctx)) as MaterializeResult;
    return { result, lines };
  };
  return { day, materialize };
}

const writeOld = (path: string, text: string) => {
  writeFileSync(path, text);
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(path, hourAgo, hourAgo);
  return path;
};

describe('bronze.round_exports', () => {
  it('lands the settled files of a partition and counts one still being written; fails a partition of only such', async () => {
    const { day, materialize } = bronze('0.1');
    const dir = day('2025-06-03');
    writeOld(join(dir, 'a.json'), exportJson('a'));
    const growing = join(dir, 'b.json');
    writeFileSync(growing, '[');
    const alone = join(day('2025-06-04'), 'c.json');
    writeFileSync(alone, '[');
    const writer = setInterval(() => {
      appendFileSync(growing, '{"_id":"b"},');
      appendFileSync(alone, '{"_id":"c"},');
    }, 20);
    try {
      const { result, lines } = await materialize('2025-06-03');
      expect(result.metadata).toMatchObject({ files: md.int(1), files_new: md.int(1), files_unsettled: md.int(1) });
      expect(result.metadata?.course_mismatch_warnings).toEqual(md.int(0));
      expect(lines.find((l) => l.includes('b.json'))).toMatch(
        /^warning {3}b\.json: .*b\.json is still being written \(.*FAIRWAY_BRONZE_SETTLE_SECONDS=0\.1\)/,
      );
      await expect(materialize('2025-06-04')).rejects.toMatchObject({
        code: 'BRONZE_FILES_UNSETTLED',
        message: expect.stringMatching(
          /^Nothing landed for course_id=americanfalls, ingest_date=2025-06-04: .*c\.json is still being written .*FAIRWAY_BRONZE_SETTLE_SECONDS=0\.1.*Materialize again once the files are complete\.$/,
        ),
      });
    } finally {
      clearInterval(writer);
    }
  });

  it.skipIf(isRoot)(
    'fails the step naming an unreadable file, its OS error code and the fix, after the others landed',
    async () => {
      const { day, materialize } = bronze('0');
      const dir = day('2025-06-03');
      const locked = writeOld(join(dir, 'a.json'), exportJson('a'));
      chmodSync(locked, 0o000);
      writeOld(join(dir, 'b.json'), exportJson('b'));
      const failure = materialize('2025-06-03');
      await expect(failure).rejects.toMatchObject({ code: 'BRONZE_FILES_QUARANTINED' });
      const message = ((await failure.catch((e: unknown) => e)) as Error).message;
      expect(message).toContain(
        `a.json (file_system_error: cannot read ${locked}: EACCES (permission denied); check the file's permissions: chmod a+r ${locked})`,
      );
      expect(message).toContain('1 valid file(s) landed');
      expect(message).not.toContain('\n    at '); // no stack trace
    },
  );

  it('walks the inbox once per run, not once per partition, and again for the next run', async () => {
    const { day, materialize } = bronze('0');
    const days = ['2025-06-03', '2025-06-04', '2025-06-05'];
    for (const d of days) writeOld(join(day(d), `${d}.json`), exportJson(d));
    vi.mocked(discoverInbox).mockClear();
    for (const d of days) expect((await materialize(d, 'run1')).result.metadata?.files).toEqual(md.int(1));
    expect(discoverInbox).toHaveBeenCalledTimes(1);
    // a file that arrived since is seen by the next run
    writeOld(join(day('2025-06-03'), 'late.json'), exportJson('late'));
    expect((await materialize('2025-06-03', 'run2')).result.metadata?.files).toEqual(md.int(2));
    expect(discoverInbox).toHaveBeenCalledTimes(2);
  });
});
