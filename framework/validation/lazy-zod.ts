import { createRequire } from 'node:module';
import type { z } from 'zod';

/** zod's namespace, as `import { z } from 'zod'` gives it. */
export type Zod = typeof z;

// Synchronous on purpose: a store's row codecs parse inside synchronous reads. Compiled, scripts/build.mjs points
// this require at the vendored bundle (dist/chunks/vendor-zod.js, an ES module: require(esm), Node ≥ 20.19), the
// same module instance that the compiled `import`s of zod get.
const require = createRequire(import.meta.url);
let loaded: Zod | undefined;

/**
 * zod, loaded on the first call: a command that parses nothing (`list`, `--help`) never evaluates it (~20 ms of
 * a 60 ms process floor).
 */
export function zod(): Zod {
  loaded ??= (require('zod') as { z: Zod }).z;
  return loaded;
}

/**
 * A schema built on first use, from zod loaded then. Every boundary still parses; a module that declares
 * schemas costs nothing at import.
 *
 * @example
 * const runSchema = lazySchema((z) => z.object({ run_id: z.string() }));
 * type Run = z.infer<ReturnType<typeof runSchema>>;
 * runSchema().parse(value);
 */
export function lazySchema<T>(build: (z: Zod) => T): () => T {
  let schema: T | undefined;
  return () => {
    schema ??= build(zod());
    return schema;
  };
}
