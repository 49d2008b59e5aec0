import { existsSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Definitions } from '../definitions/index.ts';
import { DefinitionError, FrameworkError, UsageError } from '../errors/index.ts';
import { type AssetGraph, buildGraph } from '../graph/index.ts';
import { rootLogger } from '../logging/index.ts';
import { defaultStorePath, openStore, type Store } from '../storage/index.ts';

export interface Project {
  root: string;
  stateDir: string;
  definitionsFile: string;
  defs: Definitions<unknown>;
  graph: AssetGraph;
  store: Store;
  log: Logger;
  close(): void;
}

export interface LoadProjectOptions {
  root?: string;
  /** Module whose default export is a Definitions object (or a function returning one). */
  definitions?: string;
  stateDir?: string;
  log?: Logger;
}

/** Resolves the definitions module path: option, `FAIRWAY_DEFINITIONS`, then `assets/index.ts`. */
export function definitionsPath(root: string, explicit?: string): string {
  const p = explicit ?? process.env.FAIRWAY_DEFINITIONS ?? 'assets/index.ts';
  return isAbsolute(p) ? p : resolve(root, p);
}

/** What a definitions module that default-exports a function is called with. */
export interface DefinitionsContext {
  /** The project root (the working directory of the CLI). */
  root: string;
  /** The state directory of this process (`--state-dir`, `FAIRWAY_HOME` or `<root>/.fairway`). */
  stateDir: string;
}

/** The state directory: option, `FAIRWAY_HOME`, then `<root>/.fairway`. */
export function stateDirOf(root: string, explicit?: string): string {
  const p = explicit ?? process.env.FAIRWAY_HOME ?? '.fairway';
  return isAbsolute(p) ? p : resolve(root, p);
}

/** Creates the state directory if needed; a path that is a file, or cannot be created, is a clear usage error. */
function ensureStateDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new UsageError(
      `The state directory ${dir} is a file, not a directory. Pass --state-dir (or FAIRWAY_HOME) a directory; it is created if missing.`,
    );
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(
      `Cannot create the state directory ${dir} (${err.code ?? err.message}). Pass --state-dir (or FAIRWAY_HOME) a directory you can write to.`,
    );
  }
}

function isDefinitions(v: unknown): v is Definitions<unknown> {
  return typeof v === 'object' && v !== null && (v as { assets?: unknown }).assets instanceof Map;
}

/** Imports the definitions module, validates it (including cycles) and opens the store. */
export async function loadProject(opts: LoadProjectOptions = {}): Promise<Project> {
  const root = resolve(opts.root ?? process.cwd());
  const file = definitionsPath(root, opts.definitions);
  if (!existsSync(file)) {
    throw new DefinitionError(
      'DEFINITIONS_NOT_FOUND',
      `No definitions module at ${file}. Create it (default export: defineAssets({...})) or pass --definitions <file>.`,
    );
  }
  const stateDir = stateDirOf(root, opts.stateDir);
  let defs: unknown;
  try {
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    defs = mod.default;
    // a definitions function gets where state lives: --state-dir holds for everything it creates
    if (typeof defs === 'function') defs = await (defs as (ctx: DefinitionsContext) => unknown)({ root, stateDir });
  } catch (e) {
    if (e instanceof FrameworkError) throw e; // already says what and where (a bad asset, config…)
    const err = e as Error;
    throw new DefinitionError(
      'DEFINITIONS_FAILED',
      `Loading the definitions ${file} failed: ${err?.name ?? 'Error'}: ${String(err?.message ?? e).split('\n')[0]}. Fix the module (run it with node to see the stack).`,
    );
  }
  if (!isDefinitions(defs)) {
    throw new DefinitionError(
      'DEFINITIONS_INVALID',
      `${file} must default-export the result of defineAssets({...}) (or a function returning it).`,
    );
  }
  const graph = buildGraph(defs);
  ensureStateDir(stateDir);
  const store = openStore(defaultStorePath(stateDir));
  const log = opts.log ?? rootLogger();
  return { root, stateDir, definitionsFile: file, defs, graph, store, log, close: () => store.close() };
}

export const runDir = (stateDir: string, runId: string) => join(stateDir, 'runs', runId);
