import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { bronzeKey, discoverInbox, inboxFilesVersion, ingestBronzePartition, validateExport } from './bronze.ts';
import { loadCourses } from './courses.ts';
import { LocalObjectStore } from './object-store.ts';
import { generateSampleData, type Manifest } from './sample-data/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const sharedSample = resolve(repoRoot, '../shared/data/sample');
const hasShared = existsSync(join(sharedSample, 'manifest.json'));
const courses = loadCourses(join(repoRoot, 'config/courses.json'));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `fairway-bronze-${p}-`));

let gen: string;
let genManifest: Manifest;
beforeAll(async () => {
  gen = tmp('gen');
  genManifest = await generateSampleData({ outDir: gen, courses, roundsPerFile: 12, filesPerCourse: 1 });
}, 60_000);

describe('validateExport', () => {
  it.skipIf(!hasShared)('accepts every shared sample file with the manifest round count', () => {
    const m = JSON.parse(readFileSync(join(sharedSample, 'manifest.json'), 'utf8')) as Manifest;
    for (const f of m.files) {
      const v = validateExport(readFileSync(join(sharedSample, f.path)), f.path.split('/').pop()!);
      expect(v, f.path).toMatchObject({ ok: true, format: f.format, rounds: f.rounds });
    }
  });

  it('gives the manifest reason for every generated file, and counts a malformed record', () => {
    for (const f of genManifest.files) {
      const v = validateExport(readFileSync(join(gen, f.path)), f.path.split('/').pop()!);
      if (f.bronze_reject) expect(v, f.path).toMatchObject({ ok: false, reason: f.bronze_reject_reason });
      else expect(v, f.path).toMatchObject({ ok: true, rounds: f.rounds, recordsMalformed: f.records_malformed });
    }
    expect(genManifest.files.some((f) => f.records_malformed === 1)).toBe(true);
    expect(genManifest.files.some((f) => f.encoding?.bom)).toBe(true);
  });

  it('sniffs the format without an extension and rejects unreadable input', () => {
    const csv = Buffer.from('\uFEFF_id,"course",x\r\nabc,"Erin Hills, WI",1\r\n');
    expect(validateExport(csv, 'export')).toMatchObject({
      ok: true,
      format: 'csv',
      rounds: 1,
      firstCourse: 'Erin Hills, WI',
    });
    expect(validateExport(Buffer.from(' {"_id":"a","course":"erinhills"}'), 'export')).toMatchObject({
      ok: true,
      format: 'json',
      rounds: 1,
    });
    expect(validateExport(Buffer.from('[{"_id":"a"'), 'x.json')).toMatchObject({ ok: false, reason: 'malformed_json' });
    expect(validateExport(Buffer.from('[{"_id":"a"}]'), 'x.json')).toMatchObject({
      ok: false,
      reason: 'missing_required_column:course',
    });
    expect(validateExport(Buffer.from('_id,course\n"a,b\n'), 'x.csv')).toMatchObject({
      ok: false,
      reason: 'unreadable',
    });
    expect(validateExport(Buffer.from('   \n'), 'x.csv')).toMatchObject({ ok: false, reason: 'no_records' });
    // A comma inside a quoted header cell is one column, not two.
    expect(validateExport(Buffer.from('"_id,course",x\n1,2\n'), 'x.csv')).toMatchObject({
      ok: false,
      reason: 'missing_required_column:_id',
    });
  });
});

describe('inboxFilesVersion', () => {
  it('changes when a file is added, grows or is touched, and not when nothing changed; reads no contents', async () => {
    const inbox = tmp('observe');
    mkdirSync(join(inbox, 'erinhills'), { recursive: true });
    const a = join(inbox, 'erinhills', 'a.csv');
    writeFileSync(a, 'x');
    const version = async () => inboxFilesVersion((await discoverInbox(inbox)).partitions[0]!.files);
    const first = await version();
    expect(await version()).toBe(first);
    writeFileSync(join(inbox, 'erinhills', 'b.csv'), 'y');
    const added = await version();
    expect(added).not.toBe(first);
    writeFileSync(a, 'xx');
    utimesSync(a, new Date(2026, 0, 1), new Date(2026, 0, 1));
    const grown = await version();
    expect(grown).not.toBe(added);
    utimesSync(a, new Date(2026, 0, 2), new Date(2026, 0, 2));
    expect(await version()).not.toBe(grown);
    // the same names, sizes and times give the same version whatever the bytes: nothing is read
    const files = (await discoverInbox(inbox)).partitions[0]!.files;
    expect(inboxFilesVersion(files.map((f) => ({ ...f, path: '/nonexistent' })))).toBe(inboxFilesVersion(files));
  });
});

describe('discoverInbox', () => {
  it('groups by course and ingest date, and reports invalid entries', async () => {
    const inbox = tmp('inbox');
    mkdirSync(join(inbox, 'erinhills/2025-06-03'), { recursive: true });
    writeFileSync(join(inbox, 'erinhills/2025-06-03/b.csv'), 'x');
    writeFileSync(join(inbox, 'erinhills/2025-06-03/a.json'), 'x');
    writeFileSync(join(inbox, 'erinhills/loose.csv'), 'x');
    utimesSync(join(inbox, 'erinhills/loose.csv'), new Date('2025-06-01T23:30:00Z'), new Date('2025-06-01T23:30:00Z'));
    mkdirSync(join(inbox, 'bad course'));
    mkdirSync(join(inbox, 'erinhills/June'));
    mkdirSync(join(inbox, 'erinhills/2025-02-30'));
    writeFileSync(join(inbox, 'erinhills/my file.csv'), 'x');
    writeFileSync(join(inbox, 'stray.csv'), 'x');
    const { partitions, invalid } = await discoverInbox(inbox);
    expect(partitions.map((p) => [p.course_id, p.ingest_date, p.files.map((f) => f.name)])).toEqual([
      ['erinhills', '2025-06-01', ['loose.csv']],
      ['erinhills', '2025-06-03', ['a.json', 'b.csv']],
    ]);
    expect(partitions[1]!.files[0]).toMatchObject({ path: join(inbox, 'erinhills/2025-06-03/a.json'), size: 1 });
    expect(invalid.map((i) => i.path.slice(inbox.length + 1)).sort()).toEqual([
      'bad course',
      'erinhills/2025-02-30',
      'erinhills/June',
      'erinhills/my file.csv',
      'stray.csv',
    ]);
  });
});

describe('ingestBronzePartition', () => {
  const setup = () => {
    const root = tmp('store');
    const store = new LocalObjectStore(root);
    const inbox = tmp('in');
    for (const f of genManifest.files.filter((x) => x.course === 'americanfalls')) {
      copyFileSync(join(gen, f.path), join(inbox, f.path.split('/').pop()!));
    }
    const files = genManifest.files
      .filter((x) => x.course === 'americanfalls')
      .map((f) => ({ name: f.path.split('/').pop()!, path: join(inbox, f.path.split('/').pop()!) }));
    const base = {
      store,
      bucket: 'fairway-landing',
      course_id: 'americanfalls',
      ingest_date: '2025-06-02',
      files,
      quarantineBucket: 'fairway-quarantine',
      courses,
    };
    return { root, store, inbox, files, base };
  };

  it('lands valid bytes unchanged, quarantines invalid files with a report, and is idempotent', async () => {
    const { root, store, files, base } = setup();
    const first = await ingestBronzePartition({ ...base, runId: 'run1' });
    expect(first.landed.map((l) => [l.name, l.status])).toEqual([
      ['americanfalls.rounds.1.csv', 'new'],
      ['americanfalls.rounds.1.json', 'new'],
    ]);
    expect(first.quarantined.map((q) => [q.name, q.reason])).toEqual([['americanfalls.extra.empty.csv', 'empty_file']]);
    for (const l of first.landed) {
      const src = files.find((f) => f.name === l.name)!.path;
      expect((await store.get('fairway-landing', l.key)).equals(readFileSync(src))).toBe(true);
      expect(l.key).toBe(bronzeKey('americanfalls', '2025-06-02', l.name));
    }
    const report = JSON.parse((await store.get('fairway-quarantine', first.quarantined[0]!.reportKey)).toString());
    expect(first.quarantined[0]!.reportKey).toBe(
      'bronze/course_id=americanfalls/ingest_date=2025-06-02/americanfalls.extra.empty.csv.run1.json',
    );
    expect(report).toMatchObject({
      file: 'americanfalls.extra.empty.csv',
      course_id: 'americanfalls',
      ingest_date: '2025-06-02',
      reason: 'empty_file',
      run_id: 'run1',
      bytes: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });

    const landedPath = join(root, 'fairway-landing', first.landed[0]!.key);
    const mtime = statSync(landedPath).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const second = await ingestBronzePartition({ ...base, runId: 'run2' });
    expect(second.landed.map((l) => l.status)).toEqual(['unchanged', 'unchanged']);
    expect(statSync(landedPath).mtimeMs).toBe(mtime);
    expect(second.dataVersion).toBe(first.dataVersion);
  });

  it('overwrites changed bytes under the same name and records both hashes', async () => {
    const { files, base } = setup();
    const first = await ingestBronzePartition({ ...base, runId: 'run1' });
    const csv = files.find((f) => f.name.endsWith('.rounds.1.csv'))!;
    writeFileSync(csv.path, Buffer.concat([readFileSync(csv.path), Buffer.from('\n')]));
    const second = await ingestBronzePartition({ ...base, runId: 'run2' });
    const changed = second.landed.find((l) => l.name === csv.name)!;
    expect(changed.status).toBe('changed');
    expect(changed.previousSha256).toBe(first.landed.find((l) => l.name === csv.name)!.sha256);
    expect(changed.sha256).not.toBe(changed.previousSha256);
    expect(second.landed.find((l) => l.name !== csv.name)!.status).toBe('unchanged');
    expect(second.dataVersion).not.toBe(first.dataVersion);
  });

  it('warns (only) when the first record belongs to another course', async () => {
    const { base, inbox } = setup();
    const other = join(inbox, 'other.json');
    writeFileSync(other, '[{"_id":"x","course":"Erin Hills","locations":[]}]\n');
    const res = await ingestBronzePartition({ ...base, files: [{ name: 'other.json', path: other }], runId: 'r' });
    expect(res.landed.map((l) => l.status)).toEqual(['new']);
    expect(res.warnings).toEqual([
      {
        name: 'other.json',
        kind: 'course_mismatch',
        details: "first record's course 'Erin Hills' is course 'erinhills', not 'americanfalls'",
      },
    ]);
  });

  it('refuses traversal in course ids, dates and file names', async () => {
    const { base, files } = setup();
    const f = files[0]!;
    for (const bad of [
      { course_id: '..' },
      { course_id: 'a/b' },
      { ingest_date: '2025-13-01' },
      { files: [{ name: '../escape.csv', path: f.path }] },
      { files: [{ name: 'a\\b.csv', path: f.path }] },
      { runId: '../x' },
    ]) {
      await expect(ingestBronzePartition({ ...base, runId: 'r', ...bad }), JSON.stringify(bad)).rejects.toMatchObject({
        code: 'BRONZE_INPUT_INVALID',
      });
    }
  });
});
