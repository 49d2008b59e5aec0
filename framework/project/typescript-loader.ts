import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** A module path TypeScript is needed for (what tsx loads). */
export const isTypeScriptFile = (path: string) => /\.[cm]?tsx?$/.test(path);

/**
 * The checkout this code runs compiled in (`<root>/dist/framework/project/` beside `<root>/framework/`), or
 * undefined: run from the sources (tsx, vitest), or installed as a package (no sources beside dist/).
 */
function compiledCheckout(): { root: string; dist: string } | undefined {
  if (import.meta.url.endsWith('.ts')) return undefined;
  const dist = fileURLToPath(new URL('../../', import.meta.url)).replace(/[/\\]$/, '');
  const root = dirname(dist);
  if (basename(dist) !== 'dist' || !existsSync(join(root, 'framework', 'project', 'typescript-loader.ts'))) return;
  return { root, dist };
}

/**
 * The compiled twin of a TypeScript file of this checkout (`assets/index.ts` → `dist/assets/index.js`, built
 * with Fairway by scripts/build.mjs and kept current by bin/fairway.js), if there is one: the repository's own
 * definitions then load with no TypeScript loader at all.
 */
export function compiledTwinOf(file: string): string | undefined {
  const checkout = compiledCheckout();
  if (!checkout || !/\.tsx?$/.test(file)) return undefined;
  const rel = relative(checkout.root, file);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.startsWith(`dist${sep}`) || rel.includes('node_modules')) return;
  const twin = join(checkout.dist, rel.replace(/\.tsx?$/, '.js'));
  return existsSync(twin) ? twin : undefined;
}

/** Imports with tsx, scoped to the module trees it imports: registered once, on first need. */
let tsImport: Promise<(url: string) => Promise<unknown>> | undefined;

/**
 * Imports a definitions module written in TypeScript. tsx is registered on first need, so commands that load
 * no TypeScript (`--help`, compiled or JavaScript definitions) never pay for it, and in a namespace of its own:
 * it transforms the definitions and what they import, not the modules Fairway imports later on demand (its
 * compiled execution and scheduling chunks, which a global registration sent through esbuild again: ~80 ms of
 * a `status`).
 */
export function importTypeScript(url: string): Promise<unknown> {
  // this module is TypeScript itself when a loader already runs Fairway (tsx, vitest): nothing to add
  if (import.meta.url.endsWith('.ts')) return import(url);
  tsImport ??= registerTypeScript();
  return tsImport.then((load) => load(url));
}

async function registerTypeScript(): Promise<(url: string) => Promise<unknown>> {
  const { register: registerTsx } = await import('tsx/esm/api');
  const api = registerTsx({ namespace: 'fairway-definitions' });
  // compiled in a checkout: Fairway's sources that the definitions import are served compiled too
  // (compiled-twin-hooks.mjs); an installed package has no sources, nothing to redirect
  const checkout = compiledCheckout();
  if (checkout) {
    const data = { root: pathToFileURL(checkout.root + sep).href, dist: pathToFileURL(checkout.dist + sep).href };
    register('./compiled-twin-hooks.mjs', import.meta.url, { data });
  }
  return (url) => api.import(url, import.meta.url);
}
