// Module resolve hook, registered by typescript-loader.ts when Fairway runs compiled from dist/ inside its own
// checkout: a TypeScript file of Fairway's sources that a definitions module imports (the lakehouse's
// `../framework/definitions/index.ts`) resolves to its compiled twin under dist/, the module the CLI itself
// runs. Otherwise both would load, as two copies: two FrameworkError classes, two root loggers.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `root` and `dist`: file URLs of the checkout and of its dist/ folder, ending in '/'. */
let root = '';
let dist = '';

export function initialize(data) {
  root = data.root;
  dist = data.dist;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  const url = resolved.url.split('?')[0];
  if (!url.startsWith(root) || url.startsWith(dist) || url.includes('/node_modules/') || !/\.tsx?$/.test(url)) {
    return resolved;
  }
  const twin = dist + url.slice(root.length).replace(/\.tsx?$/, '.js');
  return existsSync(fileURLToPath(twin)) ? { url: twin, format: 'module', shortCircuit: true } : resolved;
}
