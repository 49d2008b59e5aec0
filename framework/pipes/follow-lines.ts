import { StringDecoder } from 'node:string_decoder';

/**
 * Calls `onLine` with each line a child's output stream gives, as it arrives: split on `\n`, decoded with
 * state (a multi-byte character may be split across chunks), and the last line kept even without a
 * trailing newline (e.g. a crash message).
 */
export function followLines(readable: NodeJS.ReadableStream | null | undefined, onLine: (line: string) => void): void {
  let rest = '';
  const decoder = new StringDecoder('utf8');
  readable?.on('data', (chunk: Buffer) => {
    const lines = (rest + decoder.write(chunk)).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  readable?.on('end', () => {
    rest += decoder.end();
    if (rest !== '') onLine(rest);
    rest = '';
  });
}
