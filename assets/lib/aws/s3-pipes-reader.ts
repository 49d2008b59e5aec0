import type { ObjectStore } from '../object-key.ts';
import { parseS3Uri } from './aws-clients.ts';

/**
 * Reads the pipes channel of a remote job (`fairway_pipes.s3`): numbered chunk objects under one S3 prefix,
 * each a run of complete JSON lines, written in key order. Each `read()` returns the lines of the chunks that
 * appeared since the last one, in order; a chunk is read once.
 */
export class S3PipesReader {
  readonly #store: ObjectStore;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #seen = new Set<string>();

  constructor(store: ObjectStore, messagesUri: string) {
    const { bucket, key } = parseS3Uri(messagesUri);
    this.#store = store;
    this.#bucket = bucket;
    this.#prefix = key.endsWith('/') || key === '' ? key : `${key}/`;
  }

  async read(): Promise<string[]> {
    const chunks = (await this.#store.list(this.#bucket, this.#prefix)).filter(
      (o) => o.key.endsWith('.jsonl') && !this.#seen.has(o.key),
    );
    const lines: string[] = [];
    for (const { key } of chunks) {
      const text = (await this.#store.get(this.#bucket, key)).toString('utf8');
      this.#seen.add(key);
      lines.push(...text.split('\n').filter((l) => l.trim() !== ''));
    }
    return lines;
  }
}
