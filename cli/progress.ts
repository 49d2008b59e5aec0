import { createLogUpdate } from 'log-update';
import pc from 'picocolors';
import type { ExecutionEvent, ExecutionPlan } from '../framework/execution/index.ts';
import { stepId } from '../framework/execution/index.ts';
import { colorStatus, formatDuration } from './output.ts';

interface Line {
  id: string;
  status: string;
  started: number | null;
  detail: string;
  /** A step of several members (a batch, a multi-asset): their states so far. */
  batch?: { size: number; unit: string; label: string; finished: Map<string, number> };
}

/**
 * Live per-step progress: a redrawn block on a TTY (log-update), plain lines otherwise.
 * Writes to stderr so stdout stays clean for `--json`.
 */
export class RunProgress {
  private readonly lines = new Map<string, Line>();
  /** Partition step id → the batch step's line. */
  private readonly batchOf = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly render = createLogUpdate(process.stderr);

  constructor(private readonly tty: boolean) {}

  start(plan: ExecutionPlan, runId: string): void {
    process.stderr.write(
      `${pc.bold('run')} ${runId}: ${plan.steps.length} step(s)${plan.skippedFresh ? `, ${plan.skippedFresh} fresh partition(s) left out` : ''}\n`,
    );
    if (plan.alsoWritten) {
      process.stderr.write(
        `also materializes ${plan.alsoWritten.join(', ')}: written by the same step as the selection (a multi-asset)\n`,
      );
    }
    for (const s of plan.steps) {
      const line: Line = { id: s.id, status: 'PENDING', started: null, detail: '' };
      const [partitions, outputs] = [s.partitions.length, s.outputs.length];
      if (partitions * outputs > 1) {
        const label = [partitions > 1 ? `${partitions} partitions` : '', outputs > 1 ? `${outputs} assets` : '']
          .filter(Boolean)
          .join(' × ');
        const unit = outputs > 1 ? 'asset partitions' : 'partitions';
        line.batch = { size: partitions * outputs, unit, label, finished: new Map() };
        for (const o of s.outputs) for (const p of s.partitions) this.batchOf.set(stepId(o, p.key), s.id);
      }
      this.lines.set(s.id, line);
    }
    if (this.tty) this.timer = setInterval(() => this.draw(), 250);
  }

  onEvent = (e: ExecutionEvent): void => {
    if (e.type === 'STEP_STARTED' || e.type === 'STEP_RETRY' || e.type === 'STEP_FINISHED') {
      const id = stepId(e.asset_key, e.partition_key);
      const batchLine = this.lines.get(this.batchOf.get(id) ?? '');
      if (batchLine?.batch) {
        this.onBatchEvent(batchLine, batchLine.batch, e);
        return;
      }
      const line = this.lines.get(id) ?? { id, status: 'PENDING', started: null, detail: '' };
      if (e.type === 'STEP_STARTED') {
        line.status = 'RUNNING';
        line.started = Date.now();
        line.detail = e.attempt > 1 ? `attempt ${e.attempt}` : '';
      } else if (e.type === 'STEP_RETRY') {
        line.detail = `retrying in ${formatDuration(e.delay_ms)}: ${e.error}`;
      } else {
        line.status = e.status;
        line.detail = `${formatDuration(e.duration_ms)}${e.reason ? ` — ${e.reason}` : ''}`;
        if (!this.tty) process.stderr.write(`${colorStatus(e.status)} ${id} ${line.detail}\n`);
      }
      this.lines.set(id, line);
    } else if (e.type === 'CHECK_EVALUATION' && !e.record.passed && !this.tty) {
      process.stderr.write(
        `${pc.yellow('CHECK')} ${e.record.asset_key} ${e.record.check_name} failed (${e.record.severity})\n`,
      );
    }
  };

  private onBatchEvent(line: Line, batch: NonNullable<Line['batch']>, e: ExecutionEvent): void {
    if (e.type === 'STEP_STARTED' && line.status !== 'RUNNING') {
      line.status = 'RUNNING';
      line.started ??= Date.now();
      line.detail = `${batch.label} in one step`;
    } else if (e.type === 'STEP_FINISHED') {
      batch.finished.set(e.status, (batch.finished.get(e.status) ?? 0) + 1);
      const done = [...batch.finished.values()].reduce((a, b) => a + b, 0);
      const counts = [...batch.finished.entries()].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ');
      line.detail = `${done}/${batch.size} ${batch.unit}: ${counts}`;
      if (done === batch.size) {
        const statuses = [...batch.finished.keys()];
        line.status = statuses.length === 1 ? statuses[0]! : statuses.includes('FAILURE') ? 'FAILURE' : 'SKIPPED';
        const took = line.started ? `${formatDuration(Date.now() - line.started)} — ` : '';
        line.detail = `${took}${line.detail}`;
        if (!this.tty) process.stderr.write(`${colorStatus(line.status)} ${line.id} ${line.detail}\n`);
      }
    }
  }

  private draw(): void {
    const out = [...this.lines.values()].map((l) => {
      const elapsed = l.status === 'RUNNING' && l.started ? ` ${formatDuration(Date.now() - l.started)}` : '';
      return `  ${colorStatus(l.status.padEnd(8))} ${l.id}${elapsed}${l.detail ? pc.dim(`  ${l.detail}`) : ''}`;
    });
    this.render(out.join('\n'));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) {
      this.draw();
      this.render.done();
    }
  }
}
