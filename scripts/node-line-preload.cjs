// Preloaded (NODE_OPTIONS=--require, which reaches worker threads too, where --import does not) into every
// Node process of `npm run test:unit:node24`. better-sqlite3's addon in node_modules is built for the Node
// that ran `npm ci`; this points its `require` at the build for this Node's ABI (scripts/unit-node24.ts
// builds it once), so one node_modules serves both Node lines. A process of another ABI is left alone.
const { registerHooks } = require('node:module');
const { pathToFileURL } = require('node:url');

const addon = process.env.FAIRWAY_BETTER_SQLITE3_ADDON;
if (addon && process.versions.modules === process.env.FAIRWAY_BETTER_SQLITE3_ABI) {
  const url = pathToFileURL(addon).href;
  registerHooks({
    resolve(specifier, context, next) {
      const resolved = next(specifier, context);
      return resolved.url.endsWith('/better-sqlite3/build/Release/better_sqlite3.node')
        ? { ...resolved, url }
        : resolved;
    },
  });
}
