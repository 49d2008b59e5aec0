import { appendFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComputeLogTail } from './compute-log-tail.ts';

let dir: string;
const steps = () => join(dir, 'runs', 'r1', 'steps');
const log = (step: string) => join(steps(), step, 'compute.log');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairway-tail-'));
  mkdirSync(join(steps(), 'a'), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ComputeLogTail', () => {
  it('returns each complete line once, as the file grows; an unfinished line waits for its end', () => {
    const tail = new ComputeLogTail(dir, 'r1');
    expect(tail.read()).toEqual([]);
    writeFileSync(log('a'), 'one\ntw');
    expect(tail.read()).toEqual([{ step: 'a', lines: ['one'] }]);
    appendFileSync(log('a'), 'o\nthree');
    expect(tail.read()).toEqual([{ step: 'a', lines: ['two'] }]);
    expect(tail.read(true)).toEqual([{ step: 'a', lines: ['three'] }]);
    expect(tail.read(true)).toEqual([]);
  });

  it('never splits a UTF-8 character written in two pieces', () => {
    const tail = new ComputeLogTail(dir, 'r1');
    const text = Buffer.from('héllo wörld €\n', 'utf8');
    writeFileSync(log('a'), text.subarray(0, 2)); // inside the é
    expect(tail.read()).toEqual([]);
    appendFileSync(log('a'), text.subarray(2));
    expect(tail.read()).toEqual([{ step: 'a', lines: ['héllo wörld €'] }]);
  });

  it('refuses logs that point outside the run folder (a symlinked file or step folder)', () => {
    const outside = join(dir, 'secret.txt');
    writeFileSync(outside, 'root:x:0:0\n');
    symlinkSync(outside, log('a'));
    mkdirSync(join(dir, 'elsewhere'));
    writeFileSync(join(dir, 'elsewhere', 'compute.log'), 'not yours\n');
    symlinkSync(join(dir, 'elsewhere'), join(steps(), 'b'));
    expect(new ComputeLogTail(dir, 'r1').read(true)).toEqual([]);
  });

  it('hands a large log over in bounded pieces, every line once', () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `line ${i} ${'x'.repeat(60)}`);
    writeFileSync(log('a'), `${lines.join('\n')}\n`);
    const chunks = new ComputeLogTail(dir, 'r1').read();
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.lines)).toEqual(lines);
  });
});
