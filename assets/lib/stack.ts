import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AssetDefinition } from '../../framework/definitions/index.ts';
import { FrameworkError, ServiceUnavailableError } from '../../framework/errors/index.ts';
import { ensureSparkRuntime } from '../../framework/integrations/spark/index.ts';
import type { ServiceName, SparkClusterRuntime, StackConfig } from '../../stack/index.ts';
import { type LakehouseConfig, loadConfig } from './config.ts';
import { sameSparkMaster } from './config-schema.ts';

/** True when the profile's servers are the native/compose local stack (S3 endpoint + REST catalog + Trino). */
export function usesLocalStack(config: LakehouseConfig): boolean {
  return (
    config.storage.kind === 's3' &&
    config.s3.endpoint !== undefined &&
    config.catalog.type === 'rest' &&
    config.catalog.uri !== undefined &&
    config.query.engine === 'trino' &&
    config.query.trinoUrl !== undefined
  );
}

/**
 * The native stack's settings from a profile. A profile that is not stack-shaped (the default
 * `embedded`) falls back to the `local` profile, so `fairway stack up` works without FAIRWAY_PROFILE.
 */
export function stackConfigOf(config: LakehouseConfig, stateDir: string): StackConfig {
  const cfg = usesLocalStack(config) ? config : loadConfig({ projectRoot: config.projectRoot, profile: 'local' });
  const creds = cfg.s3.credentials;
  if (!creds) {
    throw new FrameworkError(
      'STACK_CONFIG_INVALID',
      `${cfg.file}: the native stack needs S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ` +
        'or FAIRWAY_S3_CREDENTIALS=env-or-minio-default for the development pair.',
    );
  }
  const { silver, gold } = cfg.catalog.namespaces;
  const under = (warehouse: string, ns: string) => `${warehouse.replace(/\/$/, '')}/${ns}`;
  return {
    dir: join(stateDir, 'stack'),
    s3: { endpoint: cfg.s3.endpoint!, region: cfg.s3.region, ...creds },
    buckets: Object.values(cfg.buckets).sort(),
    catalog: {
      uri: cfg.catalog.uri!,
      name: cfg.catalog.name,
      warehouse: cfg.catalog.warehouse.silver,
      namespaces: [
        { name: silver, location: under(cfg.catalog.warehouse.silver, silver) },
        { name: gold, location: under(cfg.catalog.warehouse.gold, gold) },
      ],
    },
    trinoUrl: cfg.query.trinoUrl!,
    services: cfg.stack.services,
    spark: {
      masterUrl: cfg.stack.spark.masterUrl,
      masterUiUrl: `http://127.0.0.1:${cfg.stack.spark.uiPort}`,
      workerUiUrl: `http://127.0.0.1:${cfg.stack.spark.uiPort + 1}`,
      workerCores: cfg.stack.spark.workerCores,
      workerMemory: cfg.stack.spark.workerMemory,
      runtime: () => sparkClusterRuntime(cfg.projectRoot),
    },
  };
}

/**
 * The cluster runs the driver's own Spark: the venv's PySpark (its package holds the distribution's jars),
 * Java 17 and the runtime's jars (without fairway-localfs, which only local mode uses).
 */
async function sparkClusterRuntime(projectRoot: string): Promise<SparkClusterRuntime> {
  const rt = await ensureSparkRuntime({
    requirementsFile: join(projectRoot, 'spark', 'requirements.txt'),
    pomFile: join(projectRoot, 'spark', 'jars', 'pom.xml'),
  });
  const lib = join(rt.venvDir, 'lib');
  const sparkHome = readdirSync(lib)
    .filter((d) => d.startsWith('python'))
    .map((d) => join(lib, d, 'site-packages', 'pyspark'))
    .find((d) => existsSync(join(d, 'jars')));
  if (!sparkHome) {
    throw new FrameworkError(
      'STACK_INSTALL_FAILED',
      `No PySpark distribution (pyspark/jars) in the venv ${rt.venvDir}; run \`fairway bootstrap\` to rebuild it.`,
    );
  }
  return { sparkHome, javaHome: rt.javaHome, jars: rt.jars.filter((j) => basename(j) !== 'fairway-localfs.jar') };
}

/** Which servers a layer's steps talk to (Silver: the Spark cluster too, when the profile runs on the stack's). */
function servicesFor(assetKey: string, config: LakehouseConfig): ServiceName[] {
  if (assetKey.startsWith('bronze.')) return ['s3'];
  if (assetKey.startsWith('silver.')) return ['s3', 'rest', ...(runsOnStackCluster(config) ? sparkServices : [])];
  return ['s3', 'rest', 'trino'];
}

const sparkServices: ServiceName[] = ['spark-master', 'spark-worker'];

/** The profile's Spark master is the stack's own standalone cluster. */
const runsOnStackCluster = (config: LakehouseConfig) =>
  sameSparkMaster(config.spark.master, config.stack.spark.masterUrl) && config.stack.services.includes('spark');

/** The stack's code, imported when a server is probed: loading the definitions never needs it. */
const stackModule = () => import('../../stack/index.ts');

async function downServices(cfg: StackConfig, names: ServiceName[]) {
  const specs = (await stackModule()).serviceSpecs(cfg);
  const probes = await Promise.all(names.map(async (n) => ({ spec: specs[n], health: await specs[n].health() })));
  return probes.filter((p) => !p.health.healthy);
}

async function serviceDownError(
  assetKey: string,
  down: Awaited<ReturnType<typeof downServices>>,
  when: 'before' | 'during',
  cause?: unknown,
) {
  const first = down[0]!;
  const list = down.map((d) => `the ${d.spec.label} at ${d.spec.url} (${d.health.detail})`).join('; ');
  const { StackServiceError } = await stackModule();
  return new StackServiceError(
    first.spec.name,
    `${when === 'before' ? `'${assetKey}' needs` : `'${assetKey}' failed while`} ${list}` +
      `${when === 'before' ? ', which is not reachable' : ' stopped answering'}. ` +
      'Run `fairway stack status` to see the services and `fairway stack up` to start them ' +
      '(with docker compose: `docker compose ps`, `docker compose up -d`).',
    { asset_key: assetKey, services: down.map((d) => d.spec.name) },
    cause,
  );
}

/**
 * The servers of `services` that do not answer, as one ServiceUnavailableError naming them (undefined
 * when all are healthy, or the profile does not use the local stack). `subject` starts the message:
 * e.g. "The query needs" before a query, "Trino failed the query; it needs" after a failure.
 */
export async function stackServicesDown(
  config: LakehouseConfig,
  stateDir: string,
  services: ServiceName[],
  subject: string,
  cause?: unknown,
): Promise<ServiceUnavailableError | undefined> {
  if (!usesLocalStack(config)) return undefined;
  const down = await downServices(stackConfigOf(config, stateDir), services);
  if (down.length === 0) return undefined;
  const list = down.map((d) => `the ${d.spec.label} at ${d.spec.url} (${d.health.detail})`).join('; ');
  return new ServiceUnavailableError(
    down[0]!.spec.name,
    `${subject} ${list}, which ${down.length > 1 ? 'are' : 'is'} not answering. ` +
      'Run `fairway stack status` to see the services and `fairway stack up` to start them ' +
      '(with docker compose: `docker compose ps`, `docker compose up -d`).',
    { details: { services: down.map((d) => d.spec.name) }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Wraps each asset's materialize with a check of the servers it needs: a step whose server is down
 * fails at once with a message naming the server and `fairway stack status`, instead of a Spark or
 * SDK connection trace minutes later. A step that fails while a server is down says so too.
 * Code versions are kept (they are computed when the asset is declared).
 */
export function guardLocalStack<R>(
  config: LakehouseConfig,
  stateDir: string,
  assets: AssetDefinition<string, R>[],
): AssetDefinition<string, R>[] {
  if (!usesLocalStack(config)) return assets;
  const cfg = stackConfigOf(config, stateDir);
  return assets.map((a) => ({
    ...a,
    materialize: async (ctx) => {
      const needs = servicesFor(a.key, config);
      const before = await downServices(cfg, needs);
      if (before.length > 0) throw await serviceDownError(a.key, before, 'before');
      try {
        return await a.materialize(ctx);
      } catch (e) {
        const after = await downServices(cfg, needs);
        if (after.length > 0) throw await serviceDownError(a.key, after, 'during', e);
        throw e;
      }
    },
  }));
}
