/**
 * Every code a Fairway error carries, with what it means and what to do: docs/errors.md is made of these
 * catalogues (this one, and those of the UI, the stack and the lakehouse, which add their codes to
 * `ErrorCodes`), and `framework/errors/codes.test.ts` keeps the page and the catalogues equal.
 */
export const FRAMEWORK_ERROR_CODES = {
  // definitions (exit code 2 before anything runs)
  ASSET_CYCLE: 'The assets depend on each other in a circle; the message names the path. Remove one of those deps.',
  ASSET_DEP_DUPLICATE: 'An asset lists the same dependency twice. Remove the repeat.',
  ASSET_DEP_UNKNOWN: 'An asset depends on a key no asset defines; the message suggests the nearest key.',
  ASSET_KEY_DUPLICATE: 'Two assets have the same key. Keys are unique: rename one.',
  ASSET_KEY_INVALID: 'An asset key is not dotted lowercase (`layer.name`).',
  ASSET_NOT_FOUND: 'A command or request names an asset that is not defined; the message suggests the nearest key.',
  BATCH_POLICY_INVALID: 'A batch policy is on an asset without partitions, or its limits are not positive integers.',
  CHECK_DUPLICATE: 'An asset has two checks of the same name.',
  CHECK_UNEVALUABLE:
    "An asset-scoped check has neither its own `evaluate` nor the asset's `evaluateAssetChecks`: give it one.",
  CODE_FILE_MISSING: "An asset's `codeFiles` lists a file that cannot be read (the code version hashes them).",
  CRON_INVALID: 'A schedule or freshness cron expression does not parse.',
  DEFINITIONS_FAILED: 'Importing the definitions module threw; run it with node to see the stack.',
  DEFINITIONS_INVALID:
    'The definitions module does not default-export `defineAssets({...})` (or a function returning it).',
  DEFINITIONS_NOT_ESM:
    'The definitions are loaded as CommonJS but use ES module syntax: set "type": "module" or use .mts.',
  DEFINITIONS_NOT_FOUND: 'There is no definitions module at the path: create it or pass --definitions.',
  FRESHNESS_POLICY_INVALID: 'A freshness policy has a lag that is not a positive duration, or no way to be met.',
  INVALID_MULTI_ASSET: 'A multi-asset name is not lower_snake_case.',
  MULTI_ASSET_INCOMPLETE: 'The definitions leave out some outputs of a multi-asset: pass every output it writes.',
  PARTITION_INVALID: 'A partition definition or key is not valid (bad dates, keys or ranges); the message says which.',
  PARTITION_MAPPING_INVALID: "A dependency's partition mapping does not fit the two assets' partitions.",
  POOL_INVALID: 'A concurrency pool has a slot count that is not a positive integer.',
  PUBLISH_WITHOUT_CHECKS:
    'An asset (or multi-asset) with `publish` has no asset-scoped checks to gate it, or could be subset past them.',
  SCHEDULE_DUPLICATE: 'Two schedules have the same name.',
  TIMEZONE_INVALID: 'A time zone is not an IANA name such as Europe/Zurich.',
  // command line and requests
  USAGE: 'A command-line flag or argument, or a request, is not valid; the message says what is expected.',
  SELECTION_INVALID: 'An asset selection does not parse or selects nothing; the caret points at the token.',
  // runs
  PARTITION_BUSY: 'Another live run holds some of the same asset partitions; wait for it or pass --lock-wait.',
  PARTITIONS_DISCOVERY_FAILED: "A partition discovery function (e.g. listing Bronze's inbox) threw.",
  PROCESS_START_FAILED: "A step's subprocess could not be started (command not found, not executable).",
  SERVICE_UNAVAILABLE: 'A server a command needs (query engine, object store, catalog) is not answering.',
  QUERY_FAILED: 'The query engine rejected or failed a statement; its own message follows.',
  TABLE_NOT_FOUND: 'The asset has no table (yet) in the catalog: materialize it first.',
  // integrations
  DBT_MANIFEST_INVALID: "dbt's manifest.json does not have the shape Fairway reads (a dbt version it does not know?).",
  DBT_PARSE_FAILED: '`dbt parse` failed; its last lines follow. Fix the dbt project.',
  DBT_PROJECT_MISSING: 'There is no dbt_project.yml in the configured dbt project directory.',
  DBT_RUN_RESULTS_INVALID: "dbt's run_results.json does not have the shape Fairway reads.",
  DBT_SOURCES_JSON_INVALID: "dbt's sources.json (source freshness) does not have the shape Fairway reads.",
  DBT_SOURCE_UNKNOWN: 'Source tests were asked for an asset that is not a dbt source.',
  DBT_START_FAILED: 'dbt could not be started (is the venv bootstrapped? run `fairway bootstrap`).',
  DBT_TEST_FAILED:
    'dbt test stopped before running the tests (a compile error, a missing table); its last lines follow.',
  SPARK_JARS_FAILED: 'Maven could not fetch the Spark jars (Iceberg, Sedona); its output says which.',
  SPARK_JAVA_MISSING: 'No Java 17+ for Spark: install a JDK or set JAVA_HOME.',
  SPARK_MAVEN_MISSING: 'mvn is not on PATH; it resolves the Spark jars. Install Maven 3.8+.',
  SPARK_PYTHON_MISSING: 'python3 is not on PATH. Install Python 3.11 with venv support.',
  SPARK_VENV_FAILED: '`python3 -m venv` failed (on Debian install python3-venv).',
  SPARK_JAVA_VERSION: 'The Java found is older than Spark needs (17).',
  SPARK_PIP_FAILED: "pip could not install the Spark job's Python requirements; its output says which.",
  SPARK_RUNTIME_INPUT_MISSING: 'The requirements file or jar pom of the Spark runtime cannot be read.',
  // the state database
  STORE_OPEN_FAILED: 'fairway.db cannot be opened (path not writable, or not a Fairway database).',
  STORE_ROW_INVALID: 'A row of fairway.db does not decode: it was changed outside Fairway (`fairway store rebuild`).',
  STORE_RUN_EXISTS: 'A run id is used twice; run ids must be unique.',
  STORE_RUN_NOT_FOUND: 'No run has that id (see `fairway runs`).',
  STORE_SCHEMA_TOO_NEW: 'fairway.db was migrated by a newer Fairway: use that version, or another state dir.',
} as const satisfies Record<string, string>;

/**
 * The codes an error may carry: the framework's, and those other parts add by augmenting this interface
 * (`declare module '…/framework/errors/index.ts' { interface ErrorCodes extends Record<…, string> {} }`).
 */
export interface ErrorCodes extends Record<keyof typeof FRAMEWORK_ERROR_CODES, string> {}

export type ErrorCode = keyof ErrorCodes;
