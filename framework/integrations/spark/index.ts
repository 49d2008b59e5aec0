export {
  defaultCacheDir,
  ensureSparkRuntime,
  type SparkRuntime,
  type SparkRuntimeOptions,
  sparkRuntimePaths,
} from './ensure-spark-runtime.ts';
