import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameworkError } from '../framework/errors/index.ts';
import { ensureStackInstalled, type StackInstall } from './install.ts';
import { findStackJava } from './java.ts';
import { type Launch, restLaunch, s3Launch, sparkMasterLaunch, sparkWorkerLaunch, trinoLaunch } from './launch.ts';
import { isAlive, type PidRecord, readPid, removePid, spawnService, stopProcess, tail } from './process.ts';
import {
  assertLoopback,
  groupOf,
  SERVICE_KEYS,
  SERVICE_NAMES,
  type ServiceName,
  type ServiceSpec,
  type SparkClusterRuntime,
  type StackConfig,
  serviceSpecs,
} from './services.ts';

export interface ServiceStatus {
  service: ServiceName;
  label: string;
  url: string;
  port: number;
  pid: number | null;
  /** Part of this stack (`FAIRWAY_STACK_SERVICES`, `stack up --only`); one that is not is left alone. */
  enabled: boolean;
  /** The pid file's process is alive. */
  running: boolean;
  healthy: boolean;
  detail: string;
  log: string;
  /** Start-up time of this `up` (null when it was already running). */
  startup_ms?: number | null;
}

/** A service that does not come up, or is down when a step needs it. */
export class StackServiceError extends FrameworkError {
  constructor(service: ServiceName, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('STACK_SERVICE_FAILED', message, { details: { service, ...details }, cause });
    this.name = 'StackServiceError';
  }
}

type Progress = (message: string) => void;

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function statusOf(spec: ServiceSpec, enabled: boolean): Promise<ServiceStatus> {
  const rec = readPid(spec.pidFile);
  const running = rec !== undefined && isAlive(rec);
  const health = await spec.health();
  let detail = enabled ? health.detail : `not part of this stack (FAIRWAY_STACK_SERVICES); ${health.detail}`;
  if (!running && health.healthy) detail += ' (answering, but not started by this stack’s state dir)';
  if (!running && !health.healthy)
    detail = rec ? `not running (stale pid ${rec.pid}); ${detail}` : `not running; ${detail}`;
  return {
    service: spec.name,
    label: spec.label,
    url: spec.url,
    port: spec.port,
    pid: running ? rec.pid : null,
    enabled,
    running,
    healthy: health.healthy,
    detail,
    log: spec.logFile,
  };
}

export const isEnabled = (cfg: StackConfig, name: ServiceName) => cfg.services.includes(groupOf(name));

/** Each service's pid, port and health (those not part of this stack too, marked so). */
export async function stackStatus(cfg: StackConfig): Promise<ServiceStatus[]> {
  const specs = serviceSpecs(cfg);
  return Promise.all(SERVICE_NAMES.map((n) => statusOf(specs[n], isEnabled(cfg, n))));
}

/** Whether every service of this stack is healthy (what `stack up` and `stack status` exit with). */
export const stackHealthy = (rows: ServiceStatus[]) => rows.every((r) => r.healthy || !r.enabled);

/** Polls health until healthy; fails early if the process dies, with the log's last lines. */
async function waitHealthy(spec: ServiceSpec, rec: PidRecord, since: number): Promise<void> {
  let last = '';
  while (Date.now() - since < spec.startTimeoutMs) {
    const h = await spec.health();
    if (h.healthy) return;
    last = h.detail;
    if (!isAlive(rec)) {
      removePid(spec.pidFile);
      throw new StackServiceError(
        spec.name,
        `The ${spec.label} exited during start-up. Last log lines (${spec.logFile}):\n${tail(spec.logFile, 15)}\n` +
          `Fix the cause, then run \`fairway stack up\` again (\`fairway stack logs ${spec.name}\` shows the whole log).`,
      );
    }
    await sleep(500);
  }
  throw new StackServiceError(
    spec.name,
    `The ${spec.label} (pid ${rec.pid}) did not become healthy within ${spec.startTimeoutMs / 1000} s (${last}). ` +
      `See \`fairway stack logs ${spec.name}\` (${spec.logFile}); \`fairway stack down\` stops it.`,
  );
}

/** Starts one service unless this stack already runs it; returns its start-up time (null if it was running). */
async function ensureRunning(spec: ServiceSpec, launch: () => Launch, progress: Progress): Promise<number | null> {
  const rec = readPid(spec.pidFile);
  if (rec && isAlive(rec)) {
    await waitHealthy(spec, rec, Date.now());
    progress(`${spec.name}: already running (pid ${rec.pid})`);
    return null;
  }
  if (rec) removePid(spec.pidFile);
  for (const port of [spec.port, ...spec.extraPorts]) {
    if (!(await portInUse(port))) continue;
    throw new StackServiceError(
      spec.name,
      `Port ${port} for the ${spec.label} is already in use by a process this stack did not start ` +
        `(no live pid file ${spec.pidFile}). Stop that process (\`ss -ltnp | grep :${port}\` shows it; ` +
        'if it is a stack of another state dir, run `fairway --state-dir <dir> stack down`), or move this service to another port in config/local.env.',
      { port },
    );
  }
  const l = launch();
  const started = Date.now();
  const child = spawnService({ service: spec.name, logFile: spec.logFile, pidFile: spec.pidFile, ...l });
  progress(`${spec.name}: started pid ${child.pid}, waiting for health (${spec.url})`);
  await waitHealthy(spec, child, started);
  const ms = Date.now() - started;
  progress(`${spec.name}: healthy after ${(ms / 1000).toFixed(1)} s`);
  return ms;
}

async function createBuckets(cfg: StackConfig, progress: Progress) {
  const { CreateBucketCommand, HeadBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    region: cfg.s3.region,
    endpoint: cfg.s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
  });
  try {
    for (const bucket of cfg.buckets) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        progress(`s3: created bucket ${bucket}`);
      }
    }
  } finally {
    client.destroy();
  }
}

async function createNamespaces(cfg: StackConfig, progress: Progress) {
  for (const ns of cfg.catalog.namespaces) {
    const head = await fetch(new URL(`/v1/namespaces/${ns.name}`, cfg.catalog.uri), { method: 'HEAD' });
    if (head.ok) continue;
    const res = await fetch(new URL('/v1/namespaces', cfg.catalog.uri), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: [ns.name], properties: { location: ns.location } }),
    });
    if (!res.ok && res.status !== 409) {
      throw new StackServiceError(
        'rest',
        `Creating namespace '${ns.name}' in the Iceberg REST catalog failed: HTTP ${res.status} ${await res.text()}`,
      );
    }
    progress(`rest: created namespace ${ns.name} (${ns.location})`);
  }
}

/**
 * Installs what is missing, then starts S3 → (REST catalog ∥ Trino ∥ Spark master → worker), creating
 * buckets and namespaces: the services of `cfg.services` only. Services already running from this state
 * dir are left as they are.
 */
export async function stackUp(cfg: StackConfig, opts: { onProgress?: Progress } = {}): Promise<ServiceStatus[]> {
  const progress = opts.onProgress ?? (() => {});
  const specs = serviceSpecs(cfg);
  const on = (name: ServiceName) => isEnabled(cfg, name);
  for (const name of SERVICE_NAMES) if (on(name)) assertLoopback(specs[name], SERVICE_KEYS[name]);
  mkdirSync(join(cfg.dir, 'logs'), { recursive: true });
  const needsStackInstall = on('s3') || on('rest') || on('trino');
  const javaHome = needsStackInstall ? await findStackJava() : '';
  const installStarted = Date.now();
  const [install, spark] = await Promise.all([
    needsStackInstall ? ensureStackInstalled({ javaHome, onProgress: progress }) : undefined,
    on('spark-master') ? cfg.spark.runtime() : undefined,
  ]);
  progress(`installs verified in ${((Date.now() - installStarted) / 1000).toFixed(1)} s`);

  const startup: Partial<Record<ServiceName, number | null>> = {};
  const start = async (name: ServiceName, launch: () => Launch) => {
    if (on(name)) startup[name] = await ensureRunning(specs[name], launch, progress);
  };
  const stack = install as StackInstall;
  await start('s3', () => s3Launch(cfg, stack, specs.s3.port));
  if (on('s3')) await createBuckets(cfg, progress);
  await Promise.all([
    start('rest', () => restLaunch(cfg, stack, javaHome, specs.rest.port)).then(async () => {
      if (on('rest')) await createNamespaces(cfg, progress);
    }),
    start('trino', () => trinoLaunch(cfg, stack, javaHome, specs.trino.port)),
    start('spark-master', () => sparkMasterLaunch(cfg, spark as SparkClusterRuntime)).then(() =>
      start('spark-worker', () => sparkWorkerLaunch(cfg, spark as SparkClusterRuntime)),
    ),
  ]);
  const status = await stackStatus(cfg);
  return status.map((s) => ({ ...s, startup_ms: startup[s.service] ?? null }));
}

/** Stops the Spark worker and master, Trino, the REST catalog, then S3: SIGTERM, SIGKILL after `timeoutMs`. */
export async function stackDown(
  cfg: StackConfig,
  opts: { onProgress?: Progress; timeoutMs?: number; only?: ServiceName[] } = {},
): Promise<{ service: ServiceName; result: string }[]> {
  const progress = opts.onProgress ?? (() => {});
  const specs = serviceSpecs(cfg);
  const out: { service: ServiceName; result: string }[] = [];
  for (const name of [...SERVICE_NAMES].reverse()) {
    if (opts.only && !opts.only.includes(name)) continue;
    const spec = specs[name];
    const rec = readPid(spec.pidFile);
    const result = rec ? await stopProcess(rec, opts.timeoutMs ?? 20_000) : 'not-running';
    removePid(spec.pidFile);
    progress(`${name}: ${result}${rec && result !== 'not-running' ? ` (pid ${rec.pid})` : ''}`);
    out.push({ service: name, result });
  }
  return out;
}

/** The last lines of one service's log, or of each. */
export function stackLogs(cfg: StackConfig, service: ServiceName | undefined, lines: number): string {
  const specs = serviceSpecs(cfg);
  const names = service ? [service] : SERVICE_NAMES;
  return names
    .map((n) => {
      const text = tail(specs[n].logFile, lines);
      return service ? text : `==> ${n} (${specs[n].logFile}) <==\n${text || '(no log yet)'}`;
    })
    .join('\n\n');
}
