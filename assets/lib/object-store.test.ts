import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, type ObjectStore, S3ObjectStore } from './object-store.ts';

/** The behaviour every implementation must share. */
function contract(name: string, make: () => ObjectStore | undefined) {
  describe(name, () => {
    const bucket = 'fairway-test';
    let store: ObjectStore;
    beforeAll(async () => {
      const s = make();
      if (!s) return;
      store = s;
      await store.ensureBucket(bucket);
      await store.ensureBucket(bucket); // idempotent
    });

    it('round-trips bytes and strings, and reports size and sha256', async (ctx) => {
      if (!store) ctx.skip();
      await store.put(bucket, 'course_id=a/ingest_date=2025-06-02/x.csv', Buffer.from('hello'));
      await store.put(bucket, 'course_id=a/ingest_date=2025-06-02/y.json', '[]', {
        sha256: '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945',
      });
      expect((await store.get(bucket, 'course_id=a/ingest_date=2025-06-02/x.csv')).toString()).toBe('hello');
      const head = await store.head(bucket, 'course_id=a/ingest_date=2025-06-02/y.json');
      expect(head?.size).toBe(2);
      expect(head?.sha256).toBe('4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945');
      expect(await store.head(bucket, 'course_id=a/nothing')).toBeUndefined();
      await expect(store.get(bucket, 'course_id=a/nothing')).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND' });
    });

    it('lists sorted by key under a prefix, and deletes', async (ctx) => {
      if (!store) ctx.skip();
      await store.put(bucket, 'list/b/2.txt', 'bb');
      await store.put(bucket, 'list/a.txt', 'a');
      await store.put(bucket, 'list/b/1.txt', 'b');
      await store.put(bucket, 'listing-not-under/z.txt', 'z');
      expect(await store.list(bucket, 'list/')).toEqual([
        { key: 'list/a.txt', size: 1 },
        { key: 'list/b/1.txt', size: 1 },
        { key: 'list/b/2.txt', size: 2 },
      ]);
      expect((await store.list(bucket, 'list/b')).map((o) => o.key)).toEqual(['list/b/1.txt', 'list/b/2.txt']);
      expect(await store.list(bucket, 'nope/')).toEqual([]);
      await store.delete(bucket, 'list/a.txt');
      await store.delete(bucket, 'list/a.txt');
      expect((await store.list(bucket, 'list/')).length).toBe(2);
    });

    it('uploads files, overwriting in place', async (ctx) => {
      if (!store) ctx.skip();
      const dir = mkdtempSync(join(tmpdir(), 'fairway-os-'));
      const file = join(dir, 'big.bin');
      writeFileSync(file, Buffer.alloc(20 * 1024 * 1024, 7)); // above the S3 multipart threshold
      await store.putFile(bucket, 'files/big.bin', file);
      writeFileSync(file, 'small');
      await store.putFile(bucket, 'files/big.bin', file);
      expect((await store.get(bucket, 'files/big.bin')).toString()).toBe('small');
      expect((await store.head(bucket, 'files/big.bin'))?.sha256).toBe(
        createHash('sha256').update('small').digest('hex'),
      );
    });

    it('rejects traversal, absolute keys and backslashes', async (ctx) => {
      if (!store) ctx.skip();
      for (const key of ['../escape', 'a/../../b', '/etc/passwd', 'a\\b', 'a//b', './a', '']) {
        await expect(store.put(bucket, key, 'x'), key).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
      }
      await expect(store.list(bucket, '../')).rejects.toMatchObject({ code: 'OBJECT_KEY_INVALID' });
      await expect(store.put('../up', 'k', 'x')).rejects.toMatchObject({ code: 'BUCKET_INVALID' });
    });
  });
}

describe('LocalObjectStore specifics', () => {
  it('keeps the key layout on disk and leaves no temp files', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fairway-local-'));
    const store = new LocalObjectStore(root);
    await store.put('fairway-landing', 'course_id=a/ingest_date=2025-06-02/f.csv', 'x');
    expect(existsSync(join(root, 'fairway-landing/course_id=a/ingest_date=2025-06-02/f.csv'))).toBe(true);
    expect(readdirSync(join(root, 'fairway-landing/course_id=a/ingest_date=2025-06-02'))).toEqual(['f.csv']);
    expect(store.uri('fairway-landing', 'course_id=a/f.csv')).toBe(`file://${root}/fairway-landing/course_id=a/f.csv`);
  });
});

const localRoot = mkdtempSync(join(tmpdir(), 'fairway-contract-'));
contract('LocalObjectStore', () => new LocalObjectStore(localRoot));

// S3: an existing server (FAIRWAY_TEST_S3_ENDPOINT, e.g. the local MinIO-compatible server), or a
// throwaway moto server (`python -m venv $TMPDIR/moto-venv && $TMPDIR/moto-venv/bin/pip install 'moto[server]'`).
const motoBin = process.env.FAIRWAY_TEST_MOTO_SERVER ?? join(tmpdir(), 'moto-venv/bin/moto_server');
let s3Endpoint = process.env.FAIRWAY_TEST_S3_ENDPOINT;
let moto: ChildProcess | undefined;
let s3: S3ObjectStore | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitFor(url: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      await fetch(url);
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return false;
}

describe('S3ObjectStore', () => {
  beforeAll(async () => {
    if (!s3Endpoint && existsSync(motoBin)) {
      const port = await freePort();
      moto = spawn(motoBin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      s3Endpoint = `http://127.0.0.1:${port}`;
      if (!(await waitFor(s3Endpoint, 15_000))) s3Endpoint = undefined;
    }
    if (!s3Endpoint) {
      console.warn(
        `S3ObjectStore tests skipped: no S3 server. Set FAIRWAY_TEST_S3_ENDPOINT, or install moto at ${motoBin} ` +
          '(or point FAIRWAY_TEST_MOTO_SERVER at a moto_server binary).',
      );
      return;
    }
    s3 = new S3ObjectStore({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      pathStyle: true,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'minioadmin',
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'minioadmin',
      },
    });
  }, 30_000);
  afterAll(() => {
    s3?.destroy();
    moto?.kill();
  });
  contract('contract', () => s3);
  it('gives s3:// URIs', (ctx) => {
    if (!s3) ctx.skip();
    expect(s3!.uri('fairway-landing', 'course_id=a/f.csv')).toBe('s3://fairway-landing/course_id=a/f.csv');
  });
});
