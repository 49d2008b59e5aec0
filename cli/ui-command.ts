import type { Project } from '../framework/project/index.ts';
import { startServer } from '../ui/index.ts';
import { parsePortFlag, untilStopSignal } from './long-running.ts';

/** `fairway ui`: serves until SIGINT/SIGTERM, then cancels runs it launched and exits 0. */
export async function uiCommand(project: Project, flags: { port?: string; host?: string }): Promise<number> {
  const server = await startServer(project, {
    port: parsePortFlag(flags.port),
    ...(flags.host ? { host: flags.host } : {}),
  });
  await untilStopSignal();
  process.stderr.write('stopping the UI (canceling runs it launched)…\n');
  await server.close();
  return 0;
}
