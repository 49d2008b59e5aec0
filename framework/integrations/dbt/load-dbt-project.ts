import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FrameworkError } from '../../errors/index.ts';
import { compareCodeUnits } from './compare.ts';
import {
  compactManifest,
  type DbtManifest,
  type DbtProjectSpec,
  MANIFEST_CACHE_FORMAT,
  parseManifest,
  type TranslateOptions,
  translateManifest,
} from './manifest.ts';
import { type DbtEnvironment, runDbt } from './run-dbt.ts';

export interface DbtProjectOptions {
  /** The dbt project (holds dbt_project.yml). */
  projectDir: string;
  /** Fairway's dbt area (e.g. `<state>/dbt`): manifest cache and one directory per dbt invocation. */
  stateDir: string;
  /** profiles.yml target, e.g. `spark`. */
  target: string;
  vars?: Record<string, unknown>;
  /**
   * Prepares and describes the dbt executable (venv, profiles.yml). Called lazily, at most once,
   * only when dbt has to run: a definition load with a cached manifest never calls it.
   */
  environment: () => Promise<DbtEnvironment>;
  /** Anything else the manifest depends on (e.g. a hash of the pinned requirements). */
  cacheKey?: readonly string[];
  translate?: TranslateOptions;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

export interface DbtProject {
  options: DbtProjectOptions;
  /** Cache key of the manifest: project files + vars + target + cacheKey. */
  checksum: string;
  /** Holds manifest.json and partial_parse.msgpack for this checksum. */
  manifestDir: string;
  manifest: DbtManifest;
  spec: DbtProjectSpec;
  /** True when this load ran `dbt parse` (cache miss). */
  parsed: boolean;
  /** The memoized environment provider. */
  environment: () => Promise<DbtEnvironment>;
}

const SKIP_DIRS = new Set(['target', 'logs', 'dbt_packages', 'node_modules', '__pycache__']);

/** Hash of every file of the dbt project (paths and contents) plus what else shapes the manifest. */
export function dbtProjectChecksum(
  projectDir: string,
  extra: { target: string; vars: Record<string, unknown>; cacheKey?: readonly string[] },
): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareCodeUnits(a.name, b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) walk(path);
      } else if (e.isFile()) {
        h.update(relative(projectDir, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  if (!existsSync(join(projectDir, 'dbt_project.yml'))) {
    throw new FrameworkError(
      'DBT_PROJECT_MISSING',
      `No dbt_project.yml in '${projectDir}': pass the dbt project directory.`,
      {
        details: { projectDir },
      },
    );
  }
  walk(projectDir);
  h.update(`target=${extra.target}\0vars=${stableJson(extra.vars)}\0`);
  for (const k of extra.cacheKey ?? []) h.update(k).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so equal vars always hash alike. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => compareCodeUnits(a, b)))
      : v,
  );
}

const memoize = <T>(fn: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((e) => {
      p = undefined; // a failed bootstrap may succeed on the next try
      throw e;
    });
    return p;
  };
};

/**
 * Loads a dbt project's manifest: from the cache when the project files, vars and target are
 * unchanged (no dbt process at all), else by running `dbt parse` once and caching the result.
 *
 * @example
 * const project = await loadDbtProject({ projectDir: 'dbt', stateDir: '.fairway/dbt', target: 'spark', environment });
 * project.spec.models.map((m) => m.assetKey); // ['gold.device_health_errors', …]
 */
export async function loadDbtProject(opts: DbtProjectOptions): Promise<DbtProject> {
  const vars = opts.vars ?? {};
  const checksum = dbtProjectChecksum(opts.projectDir, {
    target: opts.target,
    vars,
    ...(opts.cacheKey ? { cacheKey: opts.cacheKey } : {}),
  });
  const cacheRoot = join(opts.stateDir, 'manifests');
  const manifestDir = join(cacheRoot, checksum);
  const environment = memoize(opts.environment);
  let parsed = false;
  if (!existsSync(join(manifestDir, 'manifest.json'))) {
    parsed = true;
    opts.onProgress?.(`dbt parse (${opts.projectDir}, target ${opts.target})`);
    const work = join(cacheRoot, `${checksum}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const lines: string[] = [];
      const r = await runDbt({
        dbt: await environment(),
        projectDir: opts.projectDir,
        target: opts.target,
        vars,
        args: ['parse'],
        workDir: work,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onLine: (l) => lines.push(l),
      });
      if (r.exitCode !== 0 || !existsSync(join(r.targetDir, 'manifest.json'))) {
        throw new FrameworkError(
          'DBT_PARSE_FAILED',
          `dbt parse of '${opts.projectDir}' failed (exit ${r.exitCode}):\n${lines
            .filter((l) => l.trim())
            .slice(-15)
            .join('\n')}`,
          { details: { projectDir: opts.projectDir, target: opts.target } },
        );
      }
      mkdirSync(cacheRoot, { recursive: true });
      try {
        renameSync(r.targetDir, manifestDir);
      } catch (e) {
        // Another process cached the same checksum first: theirs is as good as ours.
        if (!existsSync(join(manifestDir, 'manifest.json'))) throw e;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const manifest = readManifest(manifestDir);
  const spec = translateManifest(manifest, opts.translate);
  return { options: opts, checksum, manifestDir, manifest, spec, parsed, environment };
}

/**
 * The cached manifest, parsed: from its compact copy when there is one (70 KB instead of 700, and validated
 * when it was written: ~40 ms less of every start of a lakehouse command), else from dbt's manifest.json,
 * validated, its compact copy written beside it (through a rename: a reader never sees half of it).
 */
function readManifest(manifestDir: string): DbtManifest {
  const compact = join(manifestDir, `fairway-manifest.v${MANIFEST_CACHE_FORMAT}.json`);
  try {
    return JSON.parse(readFileSync(compact, 'utf8')) as DbtManifest;
  } catch (e) {
    // none yet (the first load after `dbt parse`, or after a change of the format), or damaged: made again
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  const file = join(manifestDir, 'manifest.json');
  const manifest = compactManifest(parseManifest(JSON.parse(readFileSync(file, 'utf8')), file));
  const tmp = `${compact}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, compact);
  return manifest;
}
