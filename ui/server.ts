import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { serve } from '@hono/node-server';
import { UsageError } from '../framework/errors/index.ts';
import type { Project } from '../framework/project/index.ts';
import { createApp } from './app.ts';
import { isLoopbackHost, LOOPBACK_HOSTS } from './auth.ts';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Where the banner goes (default stderr); stdout stays free. */
  write?: (text: string) => void;
}

export interface RunningServer {
  url: string;
  token: string;
  close(): Promise<void>;
}

/**
 * The host names the UI answers to: the local names, the bound host, and `FAIRWAY_UI_ALLOWED_HOSTS`
 * (comma-separated); bound to every interface (0.0.0.0, ::), also this machine's name and addresses.
 */
export function allowedHostsFor(host: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.FAIRWAY_UI_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const wildcard = host === '0.0.0.0' || host === '::';
  const machine = wildcard
    ? [
        hostname(),
        ...Object.values(networkInterfaces())
          .flat()
          .flatMap((i) => (i ? [i.address] : [])),
      ]
    : [host];
  return [...new Set([...LOOPBACK_HOSTS, ...machine, ...extra])];
}

/** Serves the UI with @hono/node-server; resolves once it listens. */
export async function startServer(project: Project, opts: ServeOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const write = opts.write ?? ((t: string) => process.stderr.write(t));
  const { app, token, runs, warmUp } = createApp(project, { allowedHosts: allowedHostsFor(host) });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 3000, hostname: host }, () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new UsageError(`Port ${opts.port} is in use; pick another with --port.`, { port: opts.port })
          : e,
      ),
    );
  });
  // Node closes idle keep-alive sockets after 5 s. A client that finishes reading a multi-megabyte /api/graph
  // answer later than the server finished writing it can reuse a socket the server just closed (ECONNRESET,
  // seen in bench/ui at 10k assets). A longer timeout than any client's idle timeout avoids the race.
  const http = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  write(`Fairway UI listening on ${url}\n`);
  write(`UI token (for launching and canceling runs from scripts): ${token}\n`);
  write(`  stored in ${project.stateDir}/ui-token; send it as 'Authorization: Bearer <token>'\n`);
  if (!isLoopbackHost(shownHost)) {
    write(
      `WARNING: bound to ${host}, which other machines can reach. Anyone there can read asset status and logs; ` +
        'launching still needs the token. Use --host 127.0.0.1 unless you mean it.\n',
    );
  }
  project.log.info({ url }, 'ui started');
  // a request for a page is answered from what the warm-up judged (a failure is the page's to show)
  const warming = warmUp().catch((e: unknown) => project.log.warn({ err: e }, 'ui status warm-up failed'));
  return {
    url,
    token,
    close: async () => {
      await warming;
      await runs.shutdown();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
