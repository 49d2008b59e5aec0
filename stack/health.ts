import type { Health, StackConfig } from './services.ts';

/**
 * Health probes of the stack servers: each answers whether the server is up and serving what Fairway needs.
 */
const timeout = (ms: number) => AbortSignal.timeout(ms);
const why = (e: unknown) => {
  const err = e as { cause?: { code?: string }; code?: string; name?: string; message?: string };
  return err.cause?.code ?? err.code ?? err.name ?? err.message ?? String(e);
};

export function s3Health(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    // the S3 SDK loads when a probe runs, not with the stack module (loaded by every command)
    const { ListBucketsCommand, S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      region: cfg.s3.region,
      endpoint: cfg.s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const res = await client.send(new ListBucketsCommand({}), { abortSignal: timeout(3000) });
      return { healthy: true, detail: `${res.Buckets?.length ?? 0} buckets` };
    } catch (e) {
      return { healthy: false, detail: `ListBuckets failed: ${why(e)}` };
    } finally {
      client.destroy();
    }
  };
}

export function restHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const res = await fetch(new URL('/v1/config', cfg.catalog.uri), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /v1/config: HTTP ${res.status}` };
      const body = (await res.json()) as { defaults?: unknown };
      return body.defaults !== undefined
        ? { healthy: true, detail: 'GET /v1/config ok' }
        : { healthy: false, detail: 'GET /v1/config: not an Iceberg REST catalog response' };
    } catch (e) {
      return { healthy: false, detail: `GET /v1/config failed: ${why(e)}` };
    }
  };
}

export function trinoHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const res = await fetch(new URL('/v1/info', cfg.trinoUrl), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /v1/info: HTTP ${res.status}` };
      const info = (await res.json()) as { starting?: boolean; nodeVersion?: { version?: string } };
      return info.starting === false
        ? { healthy: true, detail: `Trino ${info.nodeVersion?.version ?? '?'} ready` }
        : { healthy: false, detail: 'starting' };
    } catch (e) {
      return { healthy: false, detail: `GET /v1/info failed: ${why(e)}` };
    }
  };
}

interface MasterStatus {
  status?: string;
  workers?: { id: string; state: string; cores: number; coresused: number; memory: number }[];
  activeapps?: { id: string; name: string; cores: number; state: string }[];
}

/** The master's `/json/` status (its web UI). */
export async function masterStatus(cfg: StackConfig): Promise<MasterStatus> {
  const res = await fetch(new URL('/json/', cfg.spark.masterUiUrl), { signal: timeout(3000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as MasterStatus;
}

export function sparkMasterHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    try {
      const s = await masterStatus(cfg);
      if (s.status !== 'ALIVE') return { healthy: false, detail: `master status ${s.status ?? '?'}` };
      const alive = (s.workers ?? []).filter((w) => w.state === 'ALIVE');
      return {
        healthy: true,
        detail: `${alive.length} alive worker${alive.length === 1 ? '' : 's'}, ${(s.activeapps ?? []).length} running application(s); UI ${cfg.spark.masterUiUrl}`,
      };
    } catch (e) {
      return { healthy: false, detail: `GET /json/ failed: ${why(e)}` };
    }
  };
}

/** Healthy once the worker answers and the master lists it ALIVE (registered, taking executors). */
export function sparkWorkerHealth(cfg: StackConfig): () => Promise<Health> {
  return async () => {
    let id: string;
    let cores: number;
    try {
      const res = await fetch(new URL('/json/', cfg.spark.workerUiUrl), { signal: timeout(3000) });
      if (!res.ok) return { healthy: false, detail: `GET /json/: HTTP ${res.status}` };
      ({ id, cores } = (await res.json()) as { id: string; cores: number });
    } catch (e) {
      return { healthy: false, detail: `GET /json/ failed: ${why(e)}` };
    }
    try {
      const w = (await masterStatus(cfg)).workers?.find((x) => x.id === id);
      return w?.state === 'ALIVE'
        ? { healthy: true, detail: `${id}: ${w.coresused}/${cores} cores in use; UI ${cfg.spark.workerUiUrl}` }
        : { healthy: false, detail: `${id} not registered with the master (${w?.state ?? 'unknown to it'})` };
    } catch (e) {
      return { healthy: false, detail: `${id} answers, the master does not (${why(e)})` };
    }
  };
}
