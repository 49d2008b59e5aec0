import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
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
import { bronzeKey, ingestBronzePartition } from './bronze.ts';
import { loadCourses } from './courses.ts';
import { HEADER_SCAN_BYTES, validateExport } from './export-validation.ts';
import { discoverInbox, inboxFilesVersion } from './inbox.ts';
import { LocalObjectStore } from './object-store.ts';
import { generateSampleData, type Manifest } from './sample-data/index.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const sharedSample = resolve(repoRoot, '../shared/data/sample');
const hasShared = existsSync(join(sharedSample, 'manifest.json'));
const courses = loadCourses(join(repoRoot, 'config/courses.json'));
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `fairway-bronze-${p}-`));
/** Root reads a file whatever its mode, so a chmod 000 file is unreadable only to other users. */
const isRoot = process.getuid?.() === 0;
const hourAgo = () => new Date(Date.now() - 3_600_000);
/** `text` as UTF-32 (no such encoding in Node's Buffer). */
const utf32 = (text: string, order: 'le' | 'be') => {
  const out = Buffer.alloc(text.length * 4);
  for (const [i, ch] of [...text].entries())
    order === 'le' ? out.writeUInt32LE(ch.codePointAt(0)!, i * 4) : out.writeUInt32BE(ch.codePointAt(0)!, i * 4);
  return out;
};

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

  it('quarantines UTF-16 and UTF-32 with or without a byte order mark, and invalid UTF-8, naming the encoding and the fix', () => {
    const csv = '_id,course,x\nabc,Erin Hills,1\ndef,Erin Hills,2\n';
    const json = '[{"_id":"a","course":"Erin Hills"},{"_id":"b","course":"Erin Hills"}]';
    const utf16le = (t: string) => Buffer.from(t, 'utf16le');
    const utf16be = (t: string) => Buffer.from(t, 'utf16le').swap16();
    const cases: [string, Buffer, string, string][] = [
      ['x.csv', utf16le(`\uFEFF${csv}`), 'UTF-16 LE', 'byte order mark FF FE'],
      ['x.csv', utf16be(`\uFEFF${csv}`), 'UTF-16 BE', 'byte order mark FE FF'],
      ['x.csv', utf16le(csv), 'UTF-16 LE', 'no byte order mark'],
      ['x.json', utf16be(json), 'UTF-16 BE', 'no byte order mark'],
      ['export', utf16le(json), 'UTF-16 LE', 'no byte order mark'],
      ['x.csv', utf32(`\uFEFF${csv}`, 'le'), 'UTF-32 LE', 'byte order mark FF FE 00 00'],
      ['x.csv', utf32(`\uFEFF${csv}`, 'be'), 'UTF-32 BE', 'byte order mark 00 00 FE FF'],
      ['x.json', utf32(json, 'le'), 'UTF-32 LE', 'no byte order mark'],
      ['x.json', utf32(json, 'be'), 'UTF-32 BE', 'no byte order mark'],
    ];
    for (const [name, bytes, encoding, evidence] of cases) {
      const v = validateExport(bytes, name);
      expect(v, `${encoding} ${evidence}`).toMatchObject({ ok: false, reason: 'unsupported_encoding' });
      const details = (v as { details: string }).details;
      expect(details).toContain(`${name} is ${encoding} (${evidence}`);
      expect(details).toContain('re-export the file as UTF-8');
    }
    // Windows-1252 'é' (0xE9) in the second line
    const latin1 = validateExport(Buffer.from('_id,course\nabc,Caf\u00e9\n', 'latin1'), 'x.csv');
    expect(latin1).toMatchObject({ ok: false, reason: 'unsupported_encoding' });
    expect((latin1 as { details: string }).details).toBe(
      'x.csv is invalid UTF-8 (byte E9 at offset 18, line 2, does not decode; probably an 8-bit code page such as ' +
        'Windows-1252 or Latin-1); Bronze takes UTF-8 only: re-export the file as UTF-8 (a UTF-8 byte order mark is fine)',
    );
    // UTF-8, multi-byte characters and a UTF-8 byte order mark included, is fine
    const utf8 = '\uFEFF_id,course\nabc,Caf\u00e9 \u26f3 \u{1F3CC}\n';
    expect(validateExport(Buffer.from(utf8), 'x.csv')).toMatchObject({
      ok: true,
      rounds: 1,
      firstCourse: 'Caf\u00e9 \u26f3 \u{1F3CC}',
    });
    expect(validateExport(Buffer.from(`\uFEFF${json}`), 'x.json')).toMatchObject({ ok: true, rounds: 2 });
  });

  it('quarantines a CSV header that names a column twice, naming each repeated column', () => {
    const v = validateExport(Buffer.from('_id,course,x, x,_id\n1,2,3,4,5\n'), 'x.csv');
    expect(v).toEqual({
      ok: false,
      reason: 'duplicate_column',
      details:
        "x.csv: CSV header repeats '_id' (columns 1, 5), 'x' (columns 3, 4); re-export with each column named once",
    });
    // blank names (trailing commas) name no column: not repeats
    expect(validateExport(Buffer.from('_id,course,,\n1,2,,\n'), 'x.csv')).toMatchObject({ ok: true, rounds: 1 });
  });

  it('quarantines a CSV header longer than the scan limit as too long, not as a missing column', () => {
    const export_ = (header: string) => Buffer.from(`${header}\nabc,Erin Hills,1\n`);
    const isTooLong = (bytes: Buffer, limit?: number) => {
      const v = validateExport(bytes, 'x.csv', limit);
      expect(v).toMatchObject({ ok: false, reason: 'header_too_long' });
      expect((v as { details: string }).details).toContain(
        `x.csv: the CSV header (first line) is longer than ${limit ?? HEADER_SCAN_BYTES} bytes`,
      );
    };
    // the real limit: the required columns lie past it, or it cuts a quoted cell
    isTooLong(export_(`${'x'.repeat(HEADER_SCAN_BYTES)},_id,course`));
    isTooLong(export_(`"${'x'.repeat(HEADER_SCAN_BYTES)}",_id,course`));
    // a small limit (the real one makes csv-parse take seconds): a quoted line break does not end the header
    isTooLong(export_(`_id,course,"a\nb${'x'.repeat(40)}"`), 32);
    isTooLong(export_('_id,course,abcdefghijklmnopqrstuvwxyz'), 32);
    // a header that ends exactly at the limit is whole
    const fits = `_id,course,${'x'.repeat(32 - '_id,course,\n'.length)}`;
    expect(validateExport(export_(fits), 'x.csv', 32)).toMatchObject({ ok: true, rounds: 1 });
    expect(validateExport(export_(`${fits}x`), 'x.csv', 32)).toMatchObject({ reason: 'header_too_long' });
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

  it.skipIf(isRoot)(
    'reports a course directory it cannot read with the OS error code and a fix, and finds the others',
    async () => {
      const inbox = tmp('unreadable-dir');
      mkdirSync(join(inbox, 'erinhills'), { recursive: true });
      mkdirSync(join(inbox, 'americanfalls'), { recursive: true });
      writeFileSync(join(inbox, 'erinhills/a.csv'), 'x');
      chmodSync(join(inbox, 'americanfalls'), 0o000);
      try {
        const { partitions, invalid } = await discoverInbox(inbox);
        expect(partitions.map((p) => p.course_id)).toEqual(['erinhills']);
        const dir = join(inbox, 'americanfalls');
        expect(invalid).toEqual([
          {
            path: dir,
            reason: `cannot read ${dir}: EACCES (permission denied); check the directory's permissions: chmod a+rx ${dir}`,
          },
        ]);
      } finally {
        chmodSync(join(inbox, 'americanfalls'), 0o755);
      }
    },
  );
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
      settleSeconds: 0,
    };
    return { root, store, inbox, files, base };
  };
  const exportJson = (id: string) => `[{"_id":"${id}","course":"American Falls","locations":[]}]\n`;
  /** An export written an hour ago: older than any settle window. */
  const writeOld = (path: string, text: string) => {
    writeFileSync(path, text);
    utimesSync(path, hourAgo(), hourAgo());
    return path;
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

  it('quarantines a file it cannot read with the path, the OS error code and a fix, and lands the others', async () => {
    const { base, inbox, store } = setup();
    const dir = join(inbox, 'a.csv'); // a directory where a file was expected: EISDIR, as root too
    mkdirSync(dir);
    const gone = join(inbox, 'b.json'); // discovered, then deleted before the read
    const good = writeOld(join(inbox, 'c.json'), exportJson('c'));
    const files = [
      { name: 'a.csv', path: dir },
      { name: 'b.json', path: gone },
      { name: 'c.json', path: good },
    ];
    for (const settleSeconds of [0, 5]) {
      const res = await ingestBronzePartition({ ...base, files, settleSeconds, runId: `r${settleSeconds}` });
      expect(res.landed.map((l) => l.name)).toEqual(['c.json']);
      expect(res.quarantined.map((q) => [q.name, q.reason, q.details])).toEqual([
        [
          'a.csv',
          'file_system_error',
          `cannot read ${dir}: EISDIR (illegal operation on a directory); it is a directory, not a file: move the export files in it to ${inbox}`,
        ],
        [
          'b.json',
          'file_system_error',
          `cannot read ${gone}: ENOENT (no such file or directory); it was moved or deleted while Bronze read it: put it back if it is wanted, and run again`,
        ],
      ]);
      const report = JSON.parse((await store.get('fairway-quarantine', res.quarantined[0]!.reportKey)).toString());
      expect(report).toMatchObject({ file: 'a.csv', reason: 'file_system_error', error_code: 'EISDIR' });
    }
  });

  it.skipIf(isRoot)('quarantines a file without read permission with EACCES and the chmod that fixes it', async () => {
    const { base, inbox } = setup();
    const locked = writeOld(join(inbox, 'a.json'), exportJson('a'));
    chmodSync(locked, 0o000);
    const good = writeOld(join(inbox, 'b.json'), exportJson('b'));
    const files = [
      { name: 'a.json', path: locked },
      { name: 'b.json', path: good },
    ];
    const res = await ingestBronzePartition({ ...base, files, runId: 'r' });
    expect(res.landed.map((l) => l.name)).toEqual(['b.json']);
    expect(res.quarantined.map((q) => [q.name, q.reason, q.details])).toEqual([
      [
        'a.json',
        'file_system_error',
        `cannot read ${locked}: EACCES (permission denied); check the file's permissions: chmod a+r ${locked}`,
      ],
    ]);
  });

  it('waits for a file modified within the settle window and lands it complete', async () => {
    const { base, inbox, store } = setup();
    const old = writeOld(join(inbox, 'a.json'), exportJson('a'));
    const files = [{ name: 'a.json', path: old }];
    // an old file lands without waiting, even with a long window
    let started = Date.now();
    expect((await ingestBronzePartition({ ...base, files, settleSeconds: 5, runId: 'r1' })).landed).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);

    // a copy in progress: half the bytes now, the rest 150 ms later
    const full = exportJson('b');
    const fresh = join(inbox, 'b.json');
    writeFileSync(fresh, full.slice(0, 20));
    const rest = setTimeout(() => appendFileSync(fresh, full.slice(20)), 150);
    started = Date.now();
    const res = await ingestBronzePartition({
      ...base,
      files: [...files, { name: 'b.json', path: fresh }],
      settleSeconds: 0.3,
      runId: 'r2',
    });
    clearTimeout(rest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(res.quarantined).toEqual([]);
    expect(res.warnings).toEqual([]);
    const landed = res.landed.find((l) => l.name === 'b.json')!;
    expect(landed.sha256).toBe(createHash('sha256').update(full).digest('hex'));
    expect((await store.get('fairway-landing', landed.key)).toString()).toBe(full);
  });

  it('leaves out files that keep changing over the settle windows, with a warning naming file and setting, and lands the others', async () => {
    const { base, inbox } = setup();
    const old = writeOld(join(inbox, 'a.json'), exportJson('a'));
    const growing = ['b.json', 'c.json', 'd.json'].map((name) => ({ name, path: join(inbox, name) }));
    for (const g of growing) writeFileSync(g.path, '[');
    const writer = setInterval(() => {
      for (const g of growing) appendFileSync(g.path, `{"_id":"${g.name}"},`);
    }, 25);
    const started = Date.now();
    try {
      const res = await ingestBronzePartition({
        ...base,
        files: [{ name: 'a.json', path: old }, ...growing],
        settleSeconds: 0.25,
        runId: 'r',
      });
      // about 3 windows (each from the last change) for all three files at once; one after the other would be 9
      expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 250);
      expect(Date.now() - started).toBeLessThan(6 * 250);
      expect(res.landed.map((l) => l.name)).toEqual(['a.json']);
      expect(res.quarantined).toEqual([]);
      expect(res.warnings).toEqual(
        growing.map((g) => ({
          name: g.name,
          kind: 'unsettled',
          details:
            `${g.path} is still being written (it changed within each of 3 settle windows, ` +
            'FAIRWAY_BRONZE_SETTLE_SECONDS=0.25); left out of this run, it lands on a later run once complete',
        })),
      );
    } finally {
      clearInterval(writer);
    }
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
