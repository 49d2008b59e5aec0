/**
 * Writes docs/errors.md from the error-code catalogues (framework, UI, stack, lakehouse), so the page every
 * message's `[CODE]` can be looked up in never drifts from the code. tests/error-catalogue.test.ts fails when
 * the page is out of date.
 *
 *   node --import tsx scripts/error-catalogue.ts        (rewrites docs/errors.md)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAKEHOUSE_ERROR_CODES } from '../assets/lib/error-codes.ts';
import { FRAMEWORK_ERROR_CODES } from '../framework/errors/index.ts';
import { STACK_ERROR_CODES } from '../stack/error-codes.ts';
import { UI_ERROR_CODES } from '../ui/error-codes.ts';

export const CATALOGUES = [
  { title: 'Framework', source: 'framework/errors/codes.ts', codes: FRAMEWORK_ERROR_CODES },
  { title: 'Web UI and API', source: 'ui/error-codes.ts', codes: UI_ERROR_CODES },
  { title: 'Local stack', source: 'stack/error-codes.ts', codes: STACK_ERROR_CODES },
  { title: 'Lakehouse', source: 'assets/lib/error-codes.ts', codes: LAKEHOUSE_ERROR_CODES },
] as const;

export const ERRORS_PAGE = join(import.meta.dirname, '..', 'docs', 'errors.md');

export function renderErrorCatalogue(): string {
  const sections = CATALOGUES.map(({ title, source, codes }) => {
    const rows = Object.entries(codes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, meaning]) => `| \`${code}\` | ${meaning.replaceAll('|', '\\|')} |`);
    return `## ${title}\n\nFrom \`${source}\`.\n\n| code | what it means, what to do |\n|---|---|\n${rows.join('\n')}\n`;
  });
  return `# Error codes\n\nEvery error Fairway reports names a stable code: \`error [CODE]: message\` on the command line,
\`{"error": {"code": …, "message": …}}\` from the API. The message says what happened and what to do; this page
says what each code means. It is written from the catalogues by \`node --import tsx scripts/error-catalogue.ts\`.
\`FAIRWAY_DEBUG=1\` adds the stack trace to a command's error.\n\n${sections.join('\n')}`;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  writeFileSync(ERRORS_PAGE, renderErrorCatalogue());
  process.stderr.write(`wrote ${ERRORS_PAGE}\n`);
}
