import { dirname } from 'node:path';

/** The OS error code (`EACCES`, `EIO`…) of a file system error; anything else is a bug and is rethrown. */
export function errnoOf(e: unknown): NodeJS.ErrnoException & { code: string } {
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string')
    return e as NodeJS.ErrnoException & { code: string };
  throw e;
}

/**
 * A file system error on an inbox path as one line: the path, the OS error code and what to do.
 * @example "cannot read /inbox/a/x.csv: EACCES (permission denied); check the file's permissions: chmod a+r /inbox/a/x.csv"
 */
export function describeFsError(
  path: string,
  error: NodeJS.ErrnoException,
  kind: 'file' | 'directory' = 'file',
): string {
  const code = error.code ?? 'EUNKNOWN';
  const what = /^[A-Z0-9]+: ([^,]+)/.exec(error.message)?.[1] ?? error.message;
  const fix =
    code === 'EACCES' || code === 'EPERM'
      ? `check the ${kind}'s permissions: chmod a+r${kind === 'directory' ? 'x' : ''} ${path}`
      : code === 'EISDIR'
        ? `it is a directory, not a file: move the export files in it to ${dirname(path)}`
        : code === 'ENOENT'
          ? 'it was moved or deleted while Bronze read it: put it back if it is wanted, and run again'
          : 'check the disk and the file system it is on (dmesg, fsck), then run again';
  return `cannot read ${path}: ${code} (${what}); ${fix}`;
}
