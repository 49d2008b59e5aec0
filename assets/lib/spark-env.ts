import { basename, join, resolve } from 'node:path';
import { jdbcSqliteUri, type LakehouseConfig } from './config.ts';

/**
 * The jar only Iceberg on S3 needs: S3FileIO and the Glue catalog (69 MB). Bronze in S3 needs none: the Silver
 * job reads it with pyarrow (spark/fairway_spark/silver/bronze_files.py).
 */
const AWS_JAR = /^iceberg-aws-bundle-[\d.]+\.jar$/;

/** Whether the profile's Iceberg tables are on S3: an s3:// warehouse, or the Glue catalog. */
export function icebergUsesS3(config: LakehouseConfig): boolean {
  const { warehouse } = config.catalog;
  return config.catalog.type === 'glue' || [warehouse.silver, warehouse.gold].some((w) => /^s3a?:/.test(w));
}

/**
 * The jars the profile's Spark processes load: the runtime's, without the AWS one when Iceberg is not on
 * S3. On the embedded profile that saves Spark start-up time and CPU per job (bench/README.md).
 */
export function sparkJars(config: LakehouseConfig, jars: string[]): string[] {
  return icebergUsesS3(config) ? jars : jars.filter((jar) => !AWS_JAR.test(basename(jar)));
}

/**
 * Environment for the Spark job (read by spark/fairway_spark/session.py). With a jdbc catalog whose URI was not set
 * explicitly, the catalog and warehouse live under `stateDir`.
 */
export function sparkEnv(config: LakehouseConfig, stateDir: string = config.stateDir): Record<string, string> {
  const isStateDirCatalog = config.catalog.type === 'jdbc' && config.catalog.uri === jdbcSqliteUri(config.stateDir);
  const absState = resolve(stateDir);
  const uri = isStateDirCatalog ? jdbcSqliteUri(absState) : (config.catalog.uri ?? '');
  const warehouse =
    isStateDirCatalog && config.catalog.warehouse.silver === `file://${join(config.stateDir, 'warehouse')}`
      ? `file://${join(absState, 'warehouse')}`
      : config.catalog.warehouse.silver;
  const env: Record<string, string> = {
    FAIRWAY_SPARK_MASTER: config.spark.master,
    FAIRWAY_SPARK_DRIVER_MEMORY: config.spark.driverMemory,
    FAIRWAY_SPARK_SHUFFLE_PARTITIONS: String(config.spark.shufflePartitions),
    FAIRWAY_SPARK_EXECUTOR_MEMORY: config.spark.executor.memory,
    FAIRWAY_SPARK_EXECUTOR_CORES: config.spark.executor.cores === undefined ? '' : String(config.spark.executor.cores),
    FAIRWAY_SPARK_DYNAMIC_ALLOCATION: String(config.spark.executor.dynamicAllocation),
    FAIRWAY_SPARK_EXECUTOR_WAIT_SECONDS: String(config.spark.executor.waitSeconds),
    FAIRWAY_SPARK_JARS_ON_WORKERS: String(config.spark.jarsOnWorkers),
    FAIRWAY_SPARK_DRIVER_HOST: config.spark.driverHost,
    FAIRWAY_CATALOG_NAME: config.catalog.name,
    FAIRWAY_CATALOG_TYPE: config.catalog.type,
    FAIRWAY_CATALOG_URI: uri,
    FAIRWAY_WAREHOUSE: warehouse,
    FAIRWAY_S3_ENDPOINT: config.s3.endpoint ?? '',
    FAIRWAY_S3_REGION: config.s3.region,
    FAIRWAY_S3_PATH_STYLE: String(config.s3.pathStyle),
    FAIRWAY_AWS_ENDPOINT: config.aws.endpoint ?? '',
    AWS_REGION: config.s3.region,
  };
  if (config.s3.credentials) {
    env.AWS_ACCESS_KEY_ID = config.s3.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = config.s3.credentials.secretAccessKey;
  }
  return env;
}
