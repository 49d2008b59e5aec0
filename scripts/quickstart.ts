/**
 * The README's first command ends here: fill an empty inbox with generated sample exports (five
 * courses, CSV and JSON, with the data contract's edge cases), then materialize every asset.
 * Usage: node --import tsx scripts/quickstart.ts
 */
import { existsSync, readdirSync } from 'node:fs';
import { loadConfig } from '../assets/lib/config.ts';
import { loadSample } from '../assets/lib/sample-data/index.ts';
import { main } from '../cli/index.ts';
import { stateDirOf } from '../framework/project/index.ts';

const root = process.cwd();
const stateDir = stateDirOf(root);
const cfg = loadConfig({ projectRoot: root, env: { ...process.env, FAIRWAY_STATE_DIR: stateDir } });
const inboxEmpty = !existsSync(cfg.inboxDir) || readdirSync(cfg.inboxDir).length === 0;
if (inboxEmpty) {
  const loaded = await loadSample(cfg, stateDir, new Date().toISOString().slice(0, 10));
  process.stderr.write(
    `quickstart: generated ${loaded.files} sample exports (${loaded.rounds} rounds) into ${cfg.inboxDir} (the same as 'fairway sample')\n`,
  );
} else {
  process.stderr.write(`quickstart: using the files already in ${cfg.inboxDir}\n`);
}
process.exitCode = await main(['materialize', '*', ...process.argv.slice(2)]);
