/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

/** Shared page chrome: stylesheet, navigation and the page's own scripts (no inline script: CSP). */
export function Page(props: {
  title: string;
  scripts?: string[];
  styles?: string[];
  wide?: boolean;
  children?: Child;
}) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Fairway`}</title>
        <link rel="stylesheet" href="/static/ui.css" />
        {(props.styles ?? []).map((href) => (
          <link rel="stylesheet" href={href} />
        ))}
        {(props.scripts ?? []).map((src) =>
          // ours are ES modules (ui/static); the vendored libraries are classic scripts defining a global
          src.startsWith('/static/') ? <script type="module" src={src} /> : <script src={src} defer />,
        )}
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">
            Fairway
          </a>
          <nav>
            <a href="/">Lineage</a>
            <a href="/runs">Runs</a>
            <a href="/daemon">Daemon</a>
            <a href="/api/openapi.json">API</a>
          </nav>
        </header>
        <main class={props.wide ? 'wide' : ''}>{props.children}</main>
      </body>
    </html>
  );
}

export function StatusPill(props: { status: string }) {
  return <span class={`pill st-${props.status}`}>{props.status}</span>;
}

export const formatDuration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
};

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05`. */
export const formatTs = (ts: string | null | undefined): string => (ts ? ts.replace('T', ' ').slice(0, 19) : '-');

export const partitionLabel = (p: string) => (p ? ` [${p}]` : '');
