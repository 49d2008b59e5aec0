import type { Logger } from 'pino';
import type { Definitions } from '../definitions/index.ts';
import type { ExecutionEvent, ExecutionPlan, PlanGraph } from '../execution/index.ts';
import { lineageEmitter } from './lineage-emitter.ts';
import type { OpenLineageConfig } from './openlineage-config.ts';
import { createTransport } from './transports.ts';

/** A run's OpenLineage emission: feed it the run's events, then finish it once. */
export interface RunLineage {
  onEvent(event: ExecutionEvent): void;
  /** Sends the run's end (and any step left open) and waits, bounded, for delivery. */
  finish(status: 'SUCCESS' | 'FAILURE' | 'CANCELED', reason: string | null): Promise<void>;
}

/**
 * OpenLineage for one run, on the executor's event stream. Nothing here can fail the run: an error building
 * or sending an event is logged (once) and the run goes on.
 */
export function startRunLineage(
  config: OpenLineageConfig,
  ctx: {
    runId: string;
    plan: ExecutionPlan;
    graph: PlanGraph;
    hooks: Definitions['hooks'];
    stateDir: string;
    log: Logger;
  },
): RunLineage {
  const transport = createTransport(config, { stateDir: ctx.stateDir, log: ctx.log });
  const emitter = lineageEmitter({
    runId: ctx.runId,
    namespace: config.namespace,
    plan: ctx.plan,
    graph: ctx.graph,
    hooks: ctx.hooks,
    send: (e) => transport.send(e),
  });
  let broken = false;
  const guard = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      if (!broken) ctx.log.warn({ err: (e as Error).message, what }, 'OpenLineage event not built; the run goes on');
      broken = true;
    }
  };
  return {
    onEvent: (event) => guard(event.type, () => emitter.onEvent(event)),
    finish: async (status, reason) => {
      guard('RUN_END', () => emitter.finish(status, reason));
      await transport.flush();
    },
  };
}
