import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectHead, ObjectStore, PutOptions } from './object-key.ts';
import { notFound, validateBucket, validateKey } from './object-key.ts';

const TMP_SUFFIX = '.fairway-tmp';

/**
 * Object storage as a directory per bucket under `root`. Writes go to a temp file in the same
 * directory and are renamed into place, so readers never see a half-written object.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  constructor(readonly root: string) {}

  private path(bucket: string, key: string): string {
    validateBucket(bucket);
    validateKey(bucket, key);
    return join(this.root, bucket, ...key.split('/'));
  }

  private async atomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async put(bucket: string, key: string, body: Buffer | string, _opts?: PutOptions): Promise<void> {
    const target = this.path(bucket, key);
    await this.atomically(target, (tmp) => writeFile(tmp, body));
  }

  async putFile(bucket: string, key: string, localPath: string, _opts?: PutOptions): Promise<void> {
    const target = this.path(bucket, key);
    await this.atomically(target, (tmp) => copyFile(localPath, tmp));
  }

  async get(bucket: string, key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(bucket, key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(bucket, key, e);
      throw e;
    }
  }

  /** sha256 is computed from the bytes (cheap for Bronze-sized files; S3 stores it as metadata instead). */
  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    const p = this.path(bucket, key);
    try {
      const s = await stat(p);
      if (!s.isFile()) return undefined;
      return { size: s.size, sha256: await sha256File(p) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    validateBucket(bucket);
    validateKey(bucket, prefix, { allowEmpty: true });
    const base = join(this.root, bucket);
    // Walk only the directory part of the prefix, then filter by the full prefix string like S3 does.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: { key: string; size: number }[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const ent of entries) {
        const full = join(dir, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.isFile() && !ent.name.endsWith(TMP_SUFFIX)) {
          const key = relative(base, full).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(full)).size });
        }
      }
    };
    await walk(join(base, ...dirPart.split('/').filter(Boolean)));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(bucket: string, key: string): Promise<void> {
    await rm(this.path(bucket, key), { force: true });
  }

  async ensureBucket(bucket: string): Promise<void> {
    validateBucket(bucket);
    await mkdir(join(this.root, bucket), { recursive: true });
  }

  uri(bucket: string, key: string): string {
    return pathToFileURL(this.path(bucket, key)).href;
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
