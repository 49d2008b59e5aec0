/**
 * The README's first command ends here: fill an empty inbox with generated sample exports (five
 * courses, CSV and JSON, with the data contract's edge cases), then materialize every asset.
 * Usage: node --import tsx scripts/quickstart.ts
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../assets/lib/config.ts';
import { loadCourses } from '../assets/lib/courses.ts';
import { generateSampleData } from '../assets/lib/sample-data/index.ts';
import { main } from '../framework/cli/index.ts';
import { stateDirOf } from '../framework/project/index.ts';

const root = process.cwd();
const stateDir = stateDirOf(root);
const cfg = loadConfig({ projectRoot: root, env: { ...process.env, FAIRWAY_STATE_DIR: stateDir } });
const inboxEmpty = !existsSync(cfg.inboxDir) || readdirSync(cfg.inboxDir).length === 0;
if (inboxEmpty) {
  const sampleDir = join(stateDir, 'sample-data');
  const today = new Date().toISOString().slice(0, 10);
  const manifest = await generateSampleData({
    outDir: sampleDir,
    courses: loadCourses(cfg.coursesFile),
    fileEdgeCases: false,
  });
  for (const course of Object.keys(manifest.courses)) {
    const target = join(cfg.inboxDir, course, today);
    mkdirSync(target, { recursive: true });
    cpSync(join(sampleDir, course), target, { recursive: true });
  }
  process.stderr.write(
    `quickstart: generated ${manifest.totals.files} sample exports (${manifest.totals.rounds} rounds) into ${cfg.inboxDir}\n`,
  );
} else {
  process.stderr.write(`quickstart: using the files already in ${cfg.inboxDir}\n`);
}
process.exitCode = await main(['materialize', '*', ...process.argv.slice(2)]);
