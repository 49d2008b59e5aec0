import type { Project } from '../framework/project/index.ts';
import { printJson, textTable } from './output.ts';
import { selectKeys } from './select-keys.ts';

/** `fairway list`. */
export function listCommand(project: Project, selection: string | undefined, flags: { json?: boolean }): number {
  const keys = selectKeys(project, selection);
  const rows = keys.map((k) => {
    const a = project.graph.definition(k);
    return {
      key: k,
      group: a.group ?? null,
      kinds: [...(a.kinds ?? [])],
      deps: [...a.deps],
      partitions: a.partitions ? a.partitions.kind : null,
      checks: (a.checks ?? []).map((c) => c.name),
      // hashed on first use (framework/definitions asset()): only --json shows it
      ...(flags.json ? { code_version: a.codeVersion } : {}),
      description: a.description ?? null,
    };
  });
  if (flags.json) printJson(rows);
  else {
    process.stdout.write(
      `${textTable([
        ['ASSET', 'GROUP', 'KINDS', 'DEPS', 'PARTITIONS'],
        ...rows.map((r) => [
          r.key,
          r.group ?? '-',
          r.kinds.join(',') || '-',
          String(r.deps.length),
          r.partitions ?? '-',
        ]),
      ])}\n`,
    );
  }
  return 0;
}
