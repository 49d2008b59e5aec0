import { FrameworkError } from '../../framework/errors/index.ts';
import type { LakehouseConfig } from './config.ts';
import type { ObjectStore } from './object-key.ts';
import { LocalObjectStore } from './object-store-local.ts';
import { S3ObjectStore } from './object-store-s3.ts';

export type { ObjectHead, ObjectStore, PutOptions } from './object-key.ts';
export { ObjectKeyError, validateBucket, validateKey } from './object-key.ts';
export { LocalObjectStore } from './object-store-local.ts';
export { S3ObjectStore, type S3StoreOptions } from './object-store-s3.ts';

/** The object store for a config: a directory tree (`storage.kind=local`) or S3. */
export function createObjectStore(config: LakehouseConfig): ObjectStore {
  if (config.storage.kind === 'local') {
    if (!config.storage.root) {
      throw new FrameworkError('CONFIG_INVALID', `${config.file}: FAIRWAY_STORAGE_ROOT is required for local storage.`);
    }
    return new LocalObjectStore(config.storage.root);
  }
  return new S3ObjectStore({
    region: config.s3.region,
    pathStyle: config.s3.pathStyle,
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    ...(config.s3.credentials ? { credentials: config.s3.credentials } : {}),
  });
}
