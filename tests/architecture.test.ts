/**
 * The layout's rules (../shared/STYLE.md "Layout"), checked on every import and dynamic import() of the
 * production TypeScript:
 * - dependencies point one way: `cli → ui, stack, framework`; `ui → framework`; `stack → framework`;
 *   `assets → framework, stack`; `framework/` imports none of the others, and nothing imports `cli/`;
 * - a folder is entered through its `index.ts`: an import that leaves its module (a `framework/<folder>`,
 *   or `cli`, `ui`, `stack`) for another one names that module's `index.ts`.
 * Test files may compose areas (a UI test may load the lakehouse's definitions), but a framework test may
 * still not reach outside the framework.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const AREAS = ['cli', 'framework', 'ui', 'stack', 'assets', 'examples'] as const;
type Area = (typeof AREAS)[number];

/** What each area may import besides itself. */
const ALLOWED: Record<Area, readonly Area[]> = {
  cli: ['framework', 'ui', 'stack'],
  framework: [],
  ui: ['framework'],
  stack: ['framework'],
  assets: ['framework', 'stack'],
  examples: ['framework'],
};

interface ImportEdge {
  /** importing file, relative to the repository root */
  from: string;
  /** imported file, relative to the repository root */
  to: string;
}

const areaOf = (path: string): Area | undefined => AREAS.find((a) => path.startsWith(`${a}/`));
/**
 * `framework/<folder>` (`framework/integrations/<tool>`) inside the framework; the area itself elsewhere
 * (assets and examples have no index rule).
 */
const moduleOf = (path: string): string => {
  const parts = path.split('/');
  if (parts[0] !== 'framework' || parts.length < 3) return parts[0]!;
  return parts[1] === 'integrations' && parts.length > 3 ? parts.slice(0, 3).join('/') : parts.slice(0, 2).join('/');
};
const isTest = (path: string) => /\.test\.tsx?$/.test(path);

/** The broken rules among these imports, one line each, naming the file, the import and the rule. */
function layoutViolations(edges: readonly ImportEdge[]): string[] {
  const out: string[] = [];
  for (const { from, to } of edges) {
    const [fromArea, toArea] = [areaOf(from), areaOf(to)];
    if (!fromArea || !toArea) continue;
    if (fromArea !== toArea && (!isTest(from) || fromArea === 'framework') && !ALLOWED[fromArea].includes(toArea)) {
      out.push(
        `${from} imports ${to}: ${fromArea}/ may import ${ALLOWED[fromArea].join(', ') || 'none of the others'}`,
      );
      continue;
    }
    const target = moduleOf(to);
    const entersThroughIndex = to === `${target}/index.ts`;
    const indexed = target.startsWith('framework/') || ['cli', 'ui', 'stack'].includes(target);
    if (!isTest(from) && moduleOf(from) !== target && indexed && !entersThroughIndex) {
      out.push(`${from} imports ${to}: enter ${target}/ through ${target}/index.ts (export what you need there)`);
    }
  }
  return out;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'fixtures', 'static', '__pycache__'].includes(e.name)) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(path, out);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every relative import (static, re-export and dynamic) of the areas' TypeScript files. */
function importEdges(): ImportEdge[] {
  return AREAS.flatMap((area) =>
    sourceFiles(join(ROOT, area)).flatMap((file) =>
      ts
        .preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles.filter((i) => i.fileName.startsWith('.'))
        .map((i) => ({ from: relative(ROOT, file), to: relative(ROOT, resolve(dirname(file), i.fileName)) })),
    ),
  );
}

describe('the layout', () => {
  const edges = importEdges();

  it('reads the imports of every area, dynamic ones included', () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ from: 'cli/main.ts', to: 'cli/ui-command.ts' }); // an import() in an action
  });

  it('has dependencies pointing one way and folders entered through their index.ts', () => {
    expect(layoutViolations(edges)).toEqual([]);
  });

  it('names the import and the rule it breaks', () => {
    expect(
      layoutViolations([
        { from: 'framework/execution/plan.ts', to: 'ui/index.ts' },
        { from: 'ui/app.ts', to: 'cli/main.ts' },
        { from: 'ui/app.ts', to: 'framework/storage/sqlite-store.ts' },
        { from: 'framework/execution/plan.ts', to: 'framework/graph/dag.ts' },
        { from: 'framework/staleness/x.test.ts', to: 'assets/index.ts' },
        { from: 'assets/lib/stack.ts', to: 'stack/process.ts' },
      ]),
    ).toEqual([
      'framework/execution/plan.ts imports ui/index.ts: framework/ may import none of the others',
      'ui/app.ts imports cli/main.ts: ui/ may import framework',
      'ui/app.ts imports framework/storage/sqlite-store.ts: enter framework/storage/ through framework/storage/index.ts (export what you need there)',
      'framework/execution/plan.ts imports framework/graph/dag.ts: enter framework/graph/ through framework/graph/index.ts (export what you need there)',
      'framework/staleness/x.test.ts imports assets/index.ts: framework/ may import none of the others',
      'assets/lib/stack.ts imports stack/process.ts: enter stack/ through stack/index.ts (export what you need there)',
    ]);
    // allowed: inside a module, through an index, a test composing areas
    expect(
      layoutViolations([
        { from: 'cli/main.ts', to: 'cli/commands.ts' },
        { from: 'cli/main.ts', to: 'ui/index.ts' },
        { from: 'framework/execution/plan.ts', to: 'framework/execution/batch.ts' },
        { from: 'ui/table.test.ts', to: 'assets/lib/config.ts' },
      ]),
    ).toEqual([]);
  });
});
