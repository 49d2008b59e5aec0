import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { FrameworkError } from '../errors/index.ts';
import { type PipesMessage, type PipesProcessOptions, parsePipesLine, runPipesProcess } from './index.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'fairway-pipes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stepCounter = 0;

const options = (command: string, args: string[], extra: Partial<PipesProcessOptions> = {}): PipesProcessOptions => ({
  command,
  args,
  context: {
    run_id: 'run-1',
    asset_key: 'silver.fact_telemetry_event',
    partition_key: 'course_id=erinhills',
    partition: { course_id: 'erinhills' },
  },
  stepDir: join(root, `step-${++stepCounter}`),
  log: pino({ level: 'silent' }),
  ...extra,
});

describe('parsePipesLine', () => {
  it.each([
    [{ type: 'log', level: 'warn', message: 'slow', fields: { ms: 3 } }],
    [{ type: 'materialization', data_version: 'snap-1', metadata: { rows: { type: 'row_count', value: 3 } } }],
    [{ type: 'check', name: 'not_empty', passed: true, severity: 'error', failures: 0, description: null }],
    [{ type: 'error', message: 'boom', code: 'E1', details: { file: 'x' } }],
  ])('parses %o', (message) => {
    expect(parsePipesLine(JSON.stringify(message))).toEqual({ ok: true, message });
  });

  it('defaults materialization metadata to empty', () => {
    expect(parsePipesLine('{"type":"materialization"}')).toEqual({
      ok: true,
      message: { type: 'materialization', metadata: {} },
    });
  });

  it.each([
    ['malformed JSON', '{"type":"log",', /^not JSON: /],
    ['an unknown type', '{"type":"telemetry","value":1}', /^type: /],
    ['a missing field', '{"type":"log","level":"info"}', /^message: /],
    ['a bad level', '{"type":"log","level":"loud","message":"x"}', /^level: /],
    [
      'bad metadata',
      '{"type":"materialization","metadata":{"rows":{"type":"int","value":1.5}}}',
      /^metadata\.rows\.value: /,
    ],
    ['an empty check name', '{"type":"check","name":"","passed":true}', /^name: /],
    ['a JSON value that is not an object', '42', /^message: /],
  ])('returns %s as malformed with the reason', (_name, line, error) => {
    const parsed = parsePipesLine(line);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.line).toBe(line);
    expect(parsed.error).toMatch(error);
  });
});

describe('runPipesProcess', () => {
  it('collects messages, keeps malformed lines, joins split lines and captures output', async () => {
    const output: [string, string][] = [];
    const arrived: PipesMessage[] = [];
    const result = await runPipesProcess(
      options('python3', [fixture('chatty.py')], {
        onOutput: (line, stream) => output.push([stream, line]),
        onMessage: (m) => arrived.push(m),
      }),
    );

    expect(result.exitCode).toBe(3);
    expect(result.messages).toEqual([
      { type: 'log', level: 'info', message: 'hello silver.fact_telemetry_event', fields: { course_id: 'erinhills' } },
      { type: 'materialization', data_version: 'snap-42', metadata: { rows: { type: 'row_count', value: 12 } } },
      { type: 'check', name: 'not_empty', passed: false, failures: 2, severity: 'warn' },
      { type: 'error', message: 'gave up', code: 'E_INPUT' },
    ]);
    expect(arrived).toEqual(result.messages);
    expect(result.malformed.map((m) => m.line)).toEqual([
      'this is not json',
      '{"type": "telemetry", "value": 1}',
      '{"type": "materialization", "metadata": {"rows": {"type": "int", "value": 1.5}}}',
    ]);
    expect(result.malformed.map((m) => m.error.split(':')[0])).toEqual(['not JSON', 'type', 'metadata.rows.value']);
    expect(output).toContainEqual(['stdout', 'to stdout']);
    expect(output).toContainEqual(['stderr', 'to stderr']);
    expect(output).toContainEqual(['stderr', 'last words without newline']);
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
  });

  it('passes env and cwd to the child', async () => {
    const cwd = mkdtempSync(join(root, 'cwd-'));
    const script = [
      'import json, os',
      'with open(os.environ["FAIRWAY_PIPES_MESSAGES"], "a") as f:',
      '    f.write(json.dumps({"type": "log", "level": "info", "message": os.environ["EXTRA"] + " " + os.getcwd()}) + "\\n")',
    ].join('\n');
    const result = await runPipesProcess(options('python3', ['-c', script], { cwd, env: { EXTRA: 'extra-value' } }));
    expect(result.exitCode).toBe(0);
    expect(result.messages).toEqual([{ type: 'log', level: 'info', message: `extra-value ${cwd}` }]);
    expect(result.malformed).toEqual([]);
  });

  it('kills a sleeping child quickly on abort and reports exit code 130', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const result = await runPipesProcess(
      options('python3', [fixture('sleeper.py')], {
        signal: controller.signal,
        onOutput: (line) => {
          if (line === 'sleeping') controller.abort();
        },
      }),
    );
    expect(result.exitCode).toBe(130);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(result.messages).toEqual([{ type: 'log', level: 'info', message: 'sleeping' }]);
  });

  it("reports the child's process group while it runs, and its end once it has exited", async () => {
    const seen: string[] = [];
    let group = 0;
    const result = await runPipesProcess(
      options('python3', ['-c', 'import os; print(os.getpgrp() == os.getpid())'], {
        onChildProcess: (pgid) => {
          group = pgid;
          seen.push('started');
          return () => seen.push('exited');
        },
        onOutput: (line) => seen.push(line),
      }),
    );
    expect(result.exitCode).toBe(0);
    expect(seen).toEqual(['started', 'True', 'exited']); // the child leads its own group
    expect(group).toBeGreaterThan(0);
  });

  it('throws a FrameworkError (not an exit code) for a command that does not exist', async () => {
    const error = await runPipesProcess(options('fairway-no-such-command', [])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FrameworkError);
    expect((error as FrameworkError).code).toBe('PROCESS_START_FAILED');
    expect((error as Error).message).toContain("Could not run 'fairway-no-such-command'");
  });
});
