import { join, resolve } from 'node:path';
import { ensureSparkRuntime, ensureSparkVenv, type SparkRuntime } from '../../framework/integrations/spark/index.ts';
import { type LakehouseConfig, loadConfig } from './config.ts';
import { type Courses, loadCourses } from './courses.ts';
import { createObjectStore, type ObjectStore } from './object-store.ts';

/** Everything the lakehouse assets share: config, course reference, object storage, Spark runtime. */
export interface Lakehouse {
  config: LakehouseConfig;
  courses: Courses;
  store: ObjectStore;
  /** Venv + jars, installed on first use (idempotent and fast afterwards). */
  sparkRuntime(onProgress?: (message: string) => void): Promise<SparkRuntime>;
  /** The same venv's interpreter alone (no Java, no jars), for Python that starts no JVM. */
  python(): Promise<string>;
  /** Key prefix of everything in the landing bucket ('' or ending in '/'). */
  landingPrefix: string;
  /** Key prefix of a Bronze partition in the landing bucket. */
  bronzePrefix(courseId: string, ingestDate: string): string;
  /** Where the Silver job reads a Bronze partition: a local directory or an `s3://` URI. */
  bronzeSparkPath(courseId: string, ingestDate: string): string;
}

const withSlash = (p: string) => (p === '' || p.endsWith('/') ? p : `${p}/`);

/**
 * Loads the lakehouse for a project. The state directory is the framework's (`--state-dir`,
 * `FAIRWAY_HOME`, default `.fairway`), so the CLI, the catalog and the warehouse agree.
 */
export function openLakehouse(projectRoot: string, stateDir: string, env: NodeJS.ProcessEnv = process.env): Lakehouse {
  // validations kept in the state dir: a command whose profile and course reference validated before loads no zod
  const cacheDir = join(resolve(stateDir), 'cache');
  const config = loadConfig({ projectRoot, env: { ...env, FAIRWAY_STATE_DIR: resolve(stateDir) }, cacheDir });
  const courses = loadCourses(config.coursesFile, join(cacheDir, 'courses.json'));
  const store = createObjectStore(config);
  let runtime: Promise<SparkRuntime> | undefined;
  const runtimeFiles = {
    requirementsFile: join(projectRoot, 'spark', 'requirements.txt'),
    pomFile: join(projectRoot, 'spark', 'jars', 'pom.xml'),
  };
  const bronzePrefix = (courseId: string, ingestDate: string) =>
    `${withSlash(config.prefixes.landing)}course_id=${courseId}/ingest_date=${ingestDate}/`;
  return {
    config,
    courses,
    store,
    sparkRuntime: (onProgress) => {
      runtime ??= ensureSparkRuntime({ ...runtimeFiles, ...(onProgress ? { onProgress } : {}) }).catch((e: unknown) => {
        runtime = undefined;
        throw e;
      });
      return runtime;
    },
    python: async () => (runtime ? (await runtime).python : (await ensureSparkVenv(runtimeFiles)).python),
    landingPrefix: withSlash(config.prefixes.landing),
    bronzePrefix,
    bronzeSparkPath: (courseId, ingestDate) =>
      config.storage.kind === 'local'
        ? join(
            config.storage.root!,
            config.buckets.landing,
            ...bronzePrefix(courseId, ingestDate).split('/').filter(Boolean),
          )
        : `s3://${config.buckets.landing}/${bronzePrefix(courseId, ingestDate)}`,
  };
}
