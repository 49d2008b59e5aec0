export {
  type DbtAssets,
  type DbtAssetsOptions,
  type DbtSourceChecks,
  dbtAssets,
  type PersistDbtArtifacts,
} from './dbt-assets.ts';
export {
  type DbtProject,
  type DbtProjectOptions,
  dbtProjectChecksum,
  loadDbtProject,
  stableJson,
} from './load-dbt-project.ts';
export {
  type DbtFreshnessSpec,
  type DbtFreshnessTime,
  type DbtManifest,
  type DbtModelSpec,
  type DbtProjectSpec,
  type DbtTestSpec,
  dbtManifestSchema,
  MANIFEST_CACHE_FORMAT,
  parseManifest,
  type TranslateOptions,
  translateManifest,
} from './manifest.ts';
export { DBT_QUIET_ENV, type DbtEnvironment, type RunDbtOptions, type RunDbtResult, runDbt } from './run-dbt.ts';
export {
  type DbtNodeResult,
  type DbtRunResults,
  parseRunResults,
  runResultsSchema,
  testCheckResult,
} from './run-results.ts';
export {
  type DbtFreshnessResult,
  type DbtSourcesJson,
  formatAge,
  freshnessCheckResult,
  freshnessErrorsFromLog,
  parseSourcesJson,
  sourcesJsonSchema,
} from './source-freshness.ts';
