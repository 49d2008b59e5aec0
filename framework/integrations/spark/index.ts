export {
  defaultCacheDir,
  ensureSparkRuntime,
  ensureSparkVenv,
  type SparkRuntime,
  type SparkRuntimeOptions,
  sparkRuntimePaths,
} from './ensure-spark-runtime.ts';
