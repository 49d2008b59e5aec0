import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, freemem, loadavg, release, tmpdir, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateGraph, type SyntheticGraph, writeGraphFiles } from '../core/generate-graph.ts';
import { seedStore } from '../core/seed-store.ts';
import {
  ASSET_GRAPH_LIVE_QUERY,
  LIVE_BATCH_SIZE,
  LOCATION_STATUS_QUERY,
  LOCATION_WORKSPACE_ASSETS_QUERY,
} from './dagster-queries.ts';
import { type LoadResult, loadLoop } from './load-loop.ts';
import { timeFirstRender } from './render-timing.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fairwayBin = join(repoRoot, 'bin', 'fairway.js');
const venvBin = join(repoRoot, 'bench', '.venv-dagster', 'bin');

export interface UiBenchOptions {
  sizes: number[];
  skipDagster: boolean;
  /** Cap (s) on everything Dagster does for one size: start, load and the load loop. */
  dagsterTimeoutS: number;
  /** Page loads per size (median reported). */
  repeats: number;
  clients: number;
  /** Requests per load loop against Fairway, and against Dagster. */
  requests: number;
  dagsterRequests: number;
  out?: string;
}

const log = (msg: string) => process.stderr.write(`[ui-bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const loadAvg = () => loadavg().map((l) => round(l, 2));

function machineInfo() {
  const git = (args: string[]) => spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
  return {
    cpu_model: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: round(totalmem() / 2 ** 30),
    free_memory_gb_at_start: round(freemem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    chromium: spawnSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).stdout?.trim() ?? null,
    git_commit: git(['rev-parse', 'HEAD']),
    git_dirty: git(['status', '--porcelain']).length > 0,
    load_average_at_start: loadAvg(),
  };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** Stops a process started with `detached: true` and everything it spawned (its process group). */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

async function startFairway(
  defs: string,
  stateDir: string,
): Promise<{ child: ChildProcess; url: string; startS: number }> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [fairwayBin, '--definitions', defs, '--state-dir', stateDir, 'ui', '--port', '0'],
    {
      cwd: repoRoot,
      env: { ...process.env, FAIRWAY_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    },
  );
  const url = await new Promise<string>((res, rej) => {
    let err = '';
    const timer = setTimeout(() => rej(new Error(`fairway ui did not start:\n${err}`)), 300_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        res(m[1]!);
      }
    });
    child.once('exit', (code) => rej(new Error(`fairway ui exited with ${code}:\n${err}`)));
  });
  return { child, url, startS: (performance.now() - t0) / 1000 };
}

async function timedFetch(url: string, init?: RequestInit): Promise<{ ms: number; bytes: number; body: string }> {
  const t0 = performance.now();
  const res = await fetch(url, init);
  const body = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}: ${body.slice(0, 500)}`);
  return { ms: round(performance.now() - t0), bytes: Buffer.byteLength(body), body };
}

async function benchFairway(graph: SyntheticGraph, defs: string, work: string, opts: UiBenchOptions) {
  const stateDir = join(work, 'fairway-state');
  seedStore(stateDir, graph);
  const server = await startFairway(defs, stateDir);
  log(`fairway ${graph.size}: listening after ${server.startS.toFixed(1)} s`);
  try {
    // The first /api/graph computes the layout (cached for the server's life); timed on its own.
    const first = await timedFetch(`${server.url}/api/graph`);
    log(`fairway ${graph.size}: first /api/graph ${first.ms} ms (${first.bytes} bytes)`);
    // Uncached cost of one request: /api/graph keeps its answer for 1 s, so space the samples out.
    const uncached: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sleep(1100);
      uncached.push((await timedFetch(`${server.url}/api/graph`)).ms);
    }
    const render = await timeFirstRender(`${server.url}/`, graph.size, opts.repeats, (m) =>
      log(`fairway ${graph.size}: ${m}`),
    );
    const load = await loadLoop({
      url: `${server.url}/api/graph`,
      clients: opts.clients,
      requests: opts.requests,
      deadlineMs: 600_000,
      timeoutMs: 300_000,
    });
    log(`fairway ${graph.size}: /api/graph p50 ${load.latency_ms?.p50} ms p99 ${load.latency_ms?.p99} ms`);
    return {
      server_start_s: round(server.startS, 2),
      first_graph_request_ms: first.ms,
      uncached_graph_request_ms: { median: [...uncached].sort((a, b) => a - b)[2]!, samples: uncached },
      graph_bytes: first.bytes,
      render,
      api_graph: load,
    };
  } finally {
    await stopGroup(server.child);
  }
}

interface GraphqlResponse {
  data?: Record<string, unknown>;
  errors?: { message: string }[];
}

async function graphql(base: string, query: string, variables: object, timeoutMs: number) {
  const r = await timedFetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const parsed = JSON.parse(r.body) as GraphqlResponse;
  if (parsed.errors?.length) throw new Error(`GraphQL error: ${parsed.errors[0]!.message}`);
  return { ms: r.ms, bytes: r.bytes, data: parsed.data ?? {} };
}

/** Starts dagster-webserver on the graph's defs.py and waits until the code location is loaded. */
async function startDagster(dir: string, home: string, deadline: number) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  let stderr = '';
  const child = spawn(join(venvBin, 'dagster-webserver'), ['-h', '127.0.0.1', '-p', String(port), '-f', 'defs.py'], {
    cwd: dir,
    env: { ...process.env, DAGSTER_HOME: home, PATH: `${venvBin}:${process.env.PATH}` },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  let healthS: number | null = null;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dagster-webserver exited ${child.exitCode}:\n${stderr}`);
    try {
      if (healthS === null) {
        if ((await fetch(`${base}/server_info`)).ok) healthS = (performance.now() - t0) / 1000;
      } else {
        const { data } = await graphql(base, LOCATION_STATUS_QUERY, {}, 30_000);
        const entries =
          (data.locationStatusesOrError as { entries?: { name: string; loadStatus: string }[] }).entries ?? [];
        if (entries.length > 0 && entries.every((e) => e.loadStatus === 'LOADED')) {
          return { child, base, location: entries[0]!.name, healthS, loadedS: (performance.now() - t0) / 1000 };
        }
      }
    } catch {
      // not up yet
    }
    await sleep(500);
  }
  return { child, base, location: null, healthS, loadedS: null, stderr };
}

async function benchDagster(graph: SyntheticGraph, dir: string, work: string, opts: UiBenchOptions) {
  const capMs = opts.dagsterTimeoutS * 1000;
  const deadline = performance.now() + capMs;
  const home = join(work, 'dagster-home');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'dagster.yaml'), 'telemetry:\n  enabled: false\n');
  const server = await startDagster(dir, home, deadline);
  try {
    if (server.location === null) {
      return {
        timed_out: `code location not loaded within the ${opts.dagsterTimeoutS} s cap`,
        health_s: server.healthS,
      };
    }
    log(
      `dagster ${graph.size}: healthy after ${server.healthS?.toFixed(1)} s, location loaded after ${server.loadedS.toFixed(1)} s`,
    );
    const variables = { name: server.location };
    const remaining = () => Math.max(0, Math.floor(deadline - performance.now()));
    const first = await graphql(server.base, LOCATION_WORKSPACE_ASSETS_QUERY, variables, remaining());
    const nodes = (
      first.data.workspaceLocationEntryOrError as {
        locationOrLoadError?: { repositories?: { assetNodes: unknown[] }[] };
      }
    ).locationOrLoadError?.repositories?.[0]?.assetNodes.length;
    if (nodes !== graph.size) throw new Error(`Dagster returned ${nodes} asset nodes, expected ${graph.size}`);
    log(`dagster ${graph.size}: first LocationWorkspaceAssetsQuery ${first.ms} ms (${first.bytes} bytes)`);

    // The UI's status requests: one AssetGraphLiveQuery per 10 keys. Timed sequentially on the first batches.
    const live: number[] = [];
    for (let i = 0; i < 5 && remaining() > 0; i++) {
      const keys = graph.assets
        .slice(i * LIVE_BATCH_SIZE, (i + 1) * LIVE_BATCH_SIZE)
        .map((a) => ({ path: a.key.split('.') }));
      live.push((await graphql(server.base, ASSET_GRAPH_LIVE_QUERY, { assetKeys: keys }, remaining())).ms);
    }
    const liveSorted = [...live].sort((a, b) => a - b);

    let load: LoadResult | { timed_out: string } = { timed_out: `no time left in the ${opts.dagsterTimeoutS} s cap` };
    if (remaining() > 5_000) {
      load = await loadLoop({
        url: `${server.base}/graphql`,
        init: {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ query: LOCATION_WORKSPACE_ASSETS_QUERY, variables }),
        },
        clients: opts.clients,
        requests: opts.dagsterRequests,
        deadlineMs: remaining(),
        timeoutMs: Math.max(remaining(), 1000),
        isOk: (body) => !body.includes('"errors"'),
      });
      log(`dagster ${graph.size}: graph query p50 ${load.latency_ms?.p50} ms p99 ${load.latency_ms?.p99} ms`);
    }
    return {
      health_s: round(server.healthS ?? 0, 2),
      location_loaded_s: round(server.loadedS, 2),
      first_graph_request_ms: first.ms,
      graph_bytes: first.bytes,
      live_batch_ms: {
        batch_size: LIVE_BATCH_SIZE,
        median: liveSorted[Math.floor(liveSorted.length / 2)] ?? null,
        samples: live,
      },
      graph_query: load,
    };
  } finally {
    await stopGroup(server.child);
  }
}

/** Runs the UI benchmark and writes `bench/results/ui-<date>.json`. Returns the results object. */
export async function runUiBench(opts: UiBenchOptions) {
  const machine = machineInfo();
  const date = new Date().toISOString();
  log(`load average at start: ${machine.load_average_at_start.join(' ')} on ${machine.cores} cores`);
  const scratch = join(tmpdir(), `fairway-ui-bench-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  const sizes: Record<string, unknown> = {};
  try {
    for (const size of opts.sizes) {
      const graph = generateGraph({ size });
      const files = writeGraphFiles(graph);
      const work = join(scratch, String(size));
      const fairway = await benchFairway(graph, files.typescript, work, opts);
      let dagster: unknown = null;
      if (!opts.skipDagster) {
        try {
          dagster = await benchDagster(graph, files.dir, work, opts);
        } catch (e) {
          dagster = { error: e instanceof Error ? e.message : String(e) };
          log(`dagster ${size}: ${(dagster as { error: string }).error}`);
        }
      }
      sizes[size] = {
        graph: { assets: size, layers: graph.layers, edges: graph.assets.reduce((n, a) => n + a.deps.length, 0) },
        load_average: loadAvg(),
        fairway,
        dagster,
      };
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const results = {
    suite: 'ui',
    date,
    machine: { ...machine, load_average_at_end: loadAvg() },
    options: opts,
    sizes,
  };
  const out = opts.out ?? join(repoRoot, 'bench', 'results', `ui-${date.slice(0, 10)}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${out}`);
  return results;
}
