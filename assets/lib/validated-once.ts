import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A validation's result, kept in `file` under a hash of everything the validation reads (`inputs`: the texts
 * validated, the environment, the validating code itself): the same inputs again return the kept result
 * without validating. The profile and the course reference are validated when they change, not by every
 * command (zod costs ~35 ms of a lakehouse `list`); a failing validation is never kept, so an invalid input
 * fails every time with its own message. Without `file`, validates every time.
 *
 * The result must survive JSON (plain data). A cache file that cannot be read, parsed or written only means
 * validating again.
 */
export function validatedOnce<T>(file: string | undefined, inputs: readonly string[], validate: () => T): T {
  if (file === undefined) return validate();
  const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
  const kept = readKept(file);
  if (kept?.key === key) return kept.value as T;
  const value = validate();
  try {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify({ key, value }));
    renameSync(tmp, file); // atomic: a concurrent command reads the old entry or the new one, never half of one
  } catch {
    // a read-only or full state dir: the next command validates again, which is all the cache saves
  }
  return value;
}

function readKept(file: string): { key: string; value: unknown } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // not written yet
  }
  try {
    const kept = JSON.parse(text) as { key?: unknown; value?: unknown };
    return typeof kept.key === 'string' ? { key: kept.key, value: kept.value } : undefined;
  } catch {
    return undefined; // damaged (a crash mid-write cannot do it, an editor can): written again below
  }
}

/**
 * The text of the modules whose code validates, for `inputs`: an edited schema or check makes the kept results
 * stale. Read once per process.
 */
export function moduleTexts(...moduleUrls: string[]): string[] {
  return moduleUrls.map((url) => {
    let text = textOf.get(url);
    if (text === undefined) {
      text = readFileSync(fileURLToPath(url), 'utf8');
      textOf.set(url, text);
    }
    return text;
  });
}

const textOf = new Map<string, string>();
