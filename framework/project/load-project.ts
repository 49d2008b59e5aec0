import { existsSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Definitions } from '../definitions/index.ts';
import { DefinitionError, FrameworkError, UsageError } from '../errors/index.ts';
import { type AssetGraph, buildGraph } from '../graph/index.ts';
import { rootLogger } from '../logging/index.ts';
import { defaultStorePath, openStore, type Store } from '../storage/index.ts';
import { compiledTwinOf, importTypeScript, isTypeScriptFile } from './typescript-loader.ts';

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

/** Imports the definitions module and validates it (including cycles); the store opens on first use. */
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
    defs = await importDefinitions(file, { root, stateDir });
  } catch (e) {
    if (e instanceof FrameworkError) throw e; // already says what and where (a bad asset, config…)
    const err = e as Error & { code?: string };
    const message = String(err?.message);
    if (
      err?.code === 'ERR_REQUIRE_CYCLE_MODULE' ||
      // Node's own CommonJS loader, or tsx's transform of the file to CommonJS (esbuild)
      /Cannot require\(\) ES Module|await is only valid in async functions and the top level bodies of modules|Top-level await is currently not supported with the "cjs" output format/.test(
        message,
      )
    ) {
      throw new DefinitionError(
        'DEFINITIONS_NOT_ESM',
        `The definitions ${file} are loaded as CommonJS (the nearest package.json says "type": "commonjs", or a ` +
          '.cts/.cjs file) but use ES module syntax such as top-level await. Set "type": "module" in that ' +
          'package.json, or rename the file to .mts.',
      );
    }
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
  return openProject(defs, { root, stateDir, definitionsFile: file, ...(opts.log ? { log: opts.log } : {}) });
}

/**
 * The definitions module's default export, evaluated: a definitions function is called with where state
 * lives (--state-dir holds for everything it creates). This repository's own definitions run compiled, like
 * Fairway; others through the TypeScript loader when they are TypeScript.
 */
async function importDefinitions(file: string, ctx: DefinitionsContext): Promise<unknown> {
  const twin = compiledTwinOf(file);
  const url = pathToFileURL(twin ?? file).href;
  const mod = (!twin && isTypeScriptFile(file) ? await importTypeScript(url) : await import(url)) as {
    default?: unknown;
  };
  return typeof mod.default === 'function'
    ? await (mod.default as (ctx: DefinitionsContext) => unknown)(ctx)
    : mod.default;
}

/**
 * A `refresh` for the daemon: when the definitions module default-exports a function, calls it again (the
 * module itself is not re-imported) so each tick sees new partitions and files; plain definitions are reused.
 */
export function definitionsReloader(project: Project): () => Promise<Project> {
  return async () => {
    if (project.definitionsFile === 'inline') return project;
    const defs = await importDefinitions(project.definitionsFile, { root: project.root, stateDir: project.stateDir });
    if (defs === project.defs) return project;
    if (!isDefinitions(defs)) {
      throw new DefinitionError(
        'DEFINITIONS_INVALID',
        `${project.definitionsFile} must default-export the result of defineAssets({...}) (or a function returning it).`,
      );
    }
    return { ...project, defs, graph: buildGraph(defs) };
  };
}

export interface OpenProjectOptions {
  root: string;
  stateDir: string;
  /** Where the definitions came from, for messages (default `inline`). */
  definitionsFile?: string;
  log?: Logger;
  /** An open store to use (e.g. `openStore(':memory:')`); default the state dir's `fairway.db`. */
  store?: Store;
}

/**
 * A project of definitions already in hand (`loadProject` imports them from a module): validates the graph
 * (cycles); the store is opened on first use (creating the state directory if needed).
 */
export function openProject(defs: Definitions<unknown>, opts: OpenProjectOptions): Project {
  const graph = buildGraph(defs);
  let store = opts.store;
  let log = opts.log;
  return {
    root: opts.root,
    stateDir: opts.stateDir,
    definitionsFile: opts.definitionsFile ?? 'inline',
    defs,
    graph,
    // the state dir's database when first asked for: `fairway list` never opens it (nor loads SQLite's addon)
    get store() {
      store ??= openStateStore(opts.stateDir);
      return store;
    },
    // the root logger when first asked for: a command that logs nothing never creates it (nor loads pino)
    get log() {
      log ??= rootLogger();
      return log;
    },
    close: () => store?.close(),
  };
}

function openStateStore(stateDir: string): Store {
  ensureStateDir(stateDir);
  return openStore(defaultStorePath(stateDir));
}
