/**
 * The native local stack: an S3-compatible server, Apache Iceberg's REST catalog, Trino and a Spark
 * standalone cluster (master + worker) as processes on 127.0.0.1, installed (pinned, checksummed) into `~/.cache/fairway/stack`. Knows
 * nothing about assets: `assets/lib/stack.ts` maps the `local` profile's config onto `StackConfig`.
 */
export { stackCommand } from './cli.ts';
export { ensureStackInstalled, StackInstallError, stackCacheDir } from './install.ts';
export { findStackJava } from './java.ts';
export { ICEBERG_REST, SEAWEEDFS, SPARK_VERSION, TRINO } from './pins.ts';
export {
  type Health,
  SERVICE_LABELS,
  SERVICE_NAMES,
  type ServiceName,
  type SparkClusterRuntime,
  type StackConfig,
  serviceSpecs,
} from './services.ts';
export {
  type ServiceStatus,
  StackServiceError,
  stackDown,
  stackHealthy,
  stackLogs,
  stackStatus,
  stackUp,
} from './stack.ts';
