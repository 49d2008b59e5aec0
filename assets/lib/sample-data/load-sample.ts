import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExtensionCommand } from '../../../framework/definitions/index.ts';
import { isIsoDay } from '../../../framework/definitions/index.ts';
import { UsageError } from '../../../framework/errors/index.ts';
import { SAMPLE_COMMAND } from '../command-info.ts';
import type { LakehouseConfig } from '../config.ts';
import { loadCourses } from '../courses.ts';
import { generateSampleData } from './generate.ts';

export interface LoadedSample {
  files: number;
  rounds: number;
  courses: string[];
  day: string;
}

/**
 * Generates the sample exports (five courses, CSV and JSON, the data contract's row-level edge cases) and
 * puts them in the inbox as one delivery per course on `day`: `<inbox>/<course>/<day>/`. Deterministic:
 * loading it again for the same day writes the same files (Bronze sees nothing new).
 */
export async function loadSample(cfg: LakehouseConfig, stateDir: string, day: string): Promise<LoadedSample> {
  const sampleDir = join(stateDir, 'sample-data');
  const manifest = await generateSampleData({
    outDir: sampleDir,
    courses: loadCourses(cfg.coursesFile),
    fileEdgeCases: false,
  });
  const courses = Object.keys(manifest.courses);
  for (const course of courses) {
    const target = join(cfg.inboxDir, course, day);
    mkdirSync(target, { recursive: true });
    cpSync(join(sampleDir, course), target, { recursive: true });
  }
  return { files: manifest.totals.files ?? 0, rounds: manifest.totals.rounds ?? 0, courses, day };
}

const USAGE = SAMPLE_COMMAND.usage;

/** `fairway sample`: the sample exports into the inbox, ready for `fairway materialize '*'`. */
export function sampleCommand(cfg: LakehouseConfig): ExtensionCommand {
  return {
    ...SAMPLE_COMMAND,
    run: async (args, ctx) => {
      let day: string;
      try {
        const { values } = parseArgs({ args, options: { day: { type: 'string' } }, strict: true });
        day = values.day ?? new Date().toISOString().slice(0, 10);
      } catch (e) {
        throw new UsageError(`${(e as Error).message}. Usage: fairway sample ${USAGE}`);
      }
      if (!isIsoDay(day))
        throw new UsageError(`--day '${day}' is not a YYYY-MM-DD day. Usage: fairway sample ${USAGE}`);
      const loaded = await loadSample(cfg, ctx.stateDir, day);
      process.stderr.write(
        `sample: ${loaded.files} exports (${loaded.rounds} rounds) of ${loaded.courses.join(', ')} in ${cfg.inboxDir}/<course>/${day}/\n` +
          "next: fairway materialize '*'\n",
      );
      return 0;
    },
  };
}
