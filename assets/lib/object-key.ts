import { FrameworkError } from '../../framework/errors/index.ts';

export interface PutOptions {
  contentType?: string;
  /** Hex sha256 of the body; stored as object metadata so `head` can answer without reading the body. */
  sha256?: string;
}

export interface ObjectHead {
  size: number;
  etag?: string;
  sha256?: string;
}

/**
 * The small object-storage surface the lakehouse needs. Keys use the same layout on every
 * implementation (`course_id=<id>/ingest_date=<day>/<file>`), so a bucket can move between them.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  put(bucket: string, key: string, body: Buffer | string, opts?: PutOptions): Promise<void>;
  /** Uploads a file from disk (multipart on S3 for large files). */
  putFile(bucket: string, key: string, localPath: string, opts?: PutOptions): Promise<void>;
  /** Throws `OBJECT_NOT_FOUND` when the key does not exist. */
  get(bucket: string, key: string): Promise<Buffer>;
  head(bucket: string, key: string): Promise<ObjectHead | undefined>;
  /** Objects under `prefix`, sorted by key. */
  list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]>;
  /** Deleting a missing key is not an error. */
  delete(bucket: string, key: string): Promise<void>;
  ensureBucket(bucket: string): Promise<void>;
  /** `file:///…` or `s3://bucket/key`. */
  uri(bucket: string, key: string): string;
}

/** Thrown for keys that could escape their bucket or would map differently on S3 and disk. */
export class ObjectKeyError extends FrameworkError {
  constructor(bucket: string, key: string, reason: string) {
    super(
      'OBJECT_KEY_INVALID',
      `Object key '${key}' in bucket '${bucket}' is not allowed: ${reason}. Use relative keys of segments [A-Za-z0-9._=-] separated by '/'.`,
      { details: { bucket, key } },
    );
    this.name = 'ObjectKeyError';
  }
}

export const notFound = (bucket: string, key: string, cause?: unknown) =>
  new FrameworkError('OBJECT_NOT_FOUND', `Object '${key}' does not exist in bucket '${bucket}'.`, {
    details: { bucket, key },
    ...(cause === undefined ? {} : { cause }),
  });

/** Rejects traversal (`..`), absolute keys, backslashes, empty segments and control characters. */
export function validateKey(bucket: string, key: string, opts: { allowEmpty?: boolean } = {}): void {
  if (key === '' && opts.allowEmpty) return;
  if (key === '') throw new ObjectKeyError(bucket, key, 'it is empty');
  if (key.includes('\\')) throw new ObjectKeyError(bucket, key, 'it contains a backslash');
  if (key.startsWith('/')) throw new ObjectKeyError(bucket, key, 'it is absolute');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new ObjectKeyError(bucket, key, 'it contains a control character');
  const segments = key.split('/');
  const inner = opts.allowEmpty && key.endsWith('/') ? segments.slice(0, -1) : segments;
  for (const s of inner) {
    if (s === '..' || s === '.') throw new ObjectKeyError(bucket, key, `it contains a '${s}' segment`);
    if (s === '') throw new ObjectKeyError(bucket, key, 'it contains an empty segment');
  }
}

export function validateBucket(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new FrameworkError(
      'BUCKET_INVALID',
      `Bucket name '${bucket}' is not valid: use 3-63 characters of a-z, 0-9, '.', '-'.`,
      { details: { bucket } },
    );
  }
}
