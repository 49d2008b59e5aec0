import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectHead, ObjectStore, PutOptions } from './object-key.ts';
import { notFound, validateBucket, validateKey } from './object-key.ts';
import { sha256File } from './object-store-local.ts';

export interface S3StoreOptions {
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  /** Omit to use the AWS SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Files at or above this size go through the multipart `Upload`. */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const SHA_META = 'sha256';

const isMissing = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
};

type S3Sdk = typeof import('@aws-sdk/client-s3');

/**
 * S3 (or an S3-compatible server such as MinIO) behind the ObjectStore interface. The AWS SDK is loaded
 * on the first call, not when the store is created: the definitions create it, and most commands
 * (`list`, `status`, `--help`) never touch an object.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly #opts: S3StoreOptions;
  #connected: Promise<{ sdk: S3Sdk; client: S3Client }> | undefined;
  #client: S3Client | undefined;

  constructor(opts: S3StoreOptions) {
    this.#opts = opts;
  }

  #connect(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.#connected ??= import('@aws-sdk/client-s3').then((sdk) => {
      const { region, pathStyle, endpoint, credentials } = this.#opts;
      this.#client = new sdk.S3Client({
        region,
        forcePathStyle: pathStyle,
        ...(endpoint ? { endpoint } : {}),
        ...(credentials ? { credentials } : {}),
      });
      return { sdk, client: this.#client };
    });
    return this.#connected;
  }

  private check(bucket: string, key: string): void {
    validateBucket(bucket);
    validateKey(bucket, key);
  }

  async put(bucket: string, key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    this.check(bucket, key);
    const { sdk, client } = await this.#connect();
    await client.send(
      new sdk.PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ...(opts.contentType ? { ContentType: opts.contentType } : {}),
        ...(opts.sha256 ? { Metadata: { [SHA_META]: opts.sha256 } } : {}),
      }),
    );
  }

  async putFile(bucket: string, key: string, localPath: string, opts: PutOptions = {}): Promise<void> {
    this.check(bucket, key);
    const { size } = await stat(localPath);
    const sha256 = opts.sha256 ?? (await sha256File(localPath));
    const params = {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(localPath),
      ContentLength: size,
      Metadata: { [SHA_META]: sha256 },
      ...(opts.contentType ? { ContentType: opts.contentType } : {}),
    };
    const { sdk, client } = await this.#connect();
    if (size < MULTIPART_THRESHOLD) {
      await client.send(new sdk.PutObjectCommand(params));
      return;
    }
    const { ContentLength: _omit, ...multipart } = params;
    const { Upload } = await import('@aws-sdk/lib-storage');
    await new Upload({ client, params: multipart, partSize: 8 * 1024 * 1024, queueSize: 2 }).done();
  }

  async get(bucket: string, key: string): Promise<Buffer> {
    this.check(bucket, key);
    const { sdk, client } = await this.#connect();
    try {
      const res = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (e) {
      if (isMissing(e)) throw notFound(bucket, key, e);
      throw e;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectHead | undefined> {
    this.check(bucket, key);
    const { sdk, client } = await this.#connect();
    try {
      const res = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
      const sha256 = res.Metadata?.[SHA_META];
      return {
        size: res.ContentLength ?? 0,
        ...(res.ETag ? { etag: res.ETag.replaceAll('"', '') } : {}),
        ...(sha256 ? { sha256 } : {}),
      };
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    validateBucket(bucket);
    validateKey(bucket, prefix, { allowEmpty: true });
    const out: { key: string; size: number }[] = [];
    const { sdk, client } = await this.#connect();
    let token: string | undefined;
    do {
      const res = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(bucket: string, key: string): Promise<void> {
    this.check(bucket, key);
    const { sdk, client } = await this.#connect();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async ensureBucket(bucket: string): Promise<void> {
    validateBucket(bucket);
    const { sdk, client } = await this.#connect();
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: bucket }));
    } catch (e) {
      if (!isMissing(e)) throw e;
      try {
        await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
      } catch (err) {
        // Another process created it between the head and the create.
        const name = (err as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
      }
    }
  }

  uri(bucket: string, key: string): string {
    this.check(bucket, key);
    return `s3://${bucket}/${key}`;
  }

  destroy(): void {
    this.#client?.destroy();
  }
}
