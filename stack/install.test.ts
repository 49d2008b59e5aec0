import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download } from './install.ts';

const chunk = Buffer.alloc(64 * 1024, 7);
const CHUNKS = 4;
const body = Buffer.concat(Array.from({ length: CHUNKS }, () => chunk));
const digest = (algo: string) => createHash(algo).update(body).digest('hex');

describe('download', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fairway-download-'));
  // sends the file in pieces 60 ms apart, as a slow mirror would
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length) });
    for (let i = 0; i < CHUNKS; i++) {
      res.write(chunk);
      await new Promise((r) => setTimeout(r, 60));
    }
    res.end();
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/trino.tar.gz`;
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the bytes so far while it downloads, and keeps a file whose digests match', async () => {
    const seen: number[] = [];
    const dest = join(dir, 'ok.tar.gz');
    await download('trino', url, dest, { sha1: digest('sha1'), sha256: digest('sha256') }, (b) => seen.push(b), 30);
    expect(readFileSync(dest).equals(body)).toBe(true);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)!).toBeLessThanOrEqual(body.length);
  });

  it('deletes a download whose digest differs, naming both', async () => {
    const dest = join(dir, 'bad.tar.gz');
    const error = await download('trino', url, dest, { sha1: digest('sha1'), sha256: '0'.repeat(64) }).catch((e) => e);
    expect(error.message).toContain(
      `checksum mismatch for ${url}: sha256 ${digest('sha256')} (pinned ${'0'.repeat(64)})`,
    );
    expect(existsSync(dest)).toBe(false);
  });
});
