/**
 * An AWS API emulator for the tests: moto in server mode (PyPI `moto[server]`, into a venv in the Fairway
 * cache) on a free port of 127.0.0.1. One endpoint answers S3, Glue, EMR Serverless, Athena and IAM.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { toolVenv } from '../../scripts/tool-venv.ts';

/** moto 5.2.5: newest release; has EMR Serverless start/get/cancel job run, Athena's result queue, Glue. */
export const MOTO_PIN = 'moto[server]==5.2.5';
/** The tool venv it is installed in (also used by scripts/pytest.ts for spark/tests/test_bronze_s3.py). */
export const MOTO_VENV = 'moto-5.2.5';
/** parliament 1.6.4: Duo Labs' IAM policy linter (newest release). */
export const PARLIAMENT_PIN = 'parliament==1.6.4';

/** A port nobody listens on now (the OS's pick), for a server started right after. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface AwsEmulator {
  endpoint: string;
  /** moto's own API (`/moto-api/…`): configure state transitions and Athena results. */
  motoApi: (path: string, body: unknown) => Promise<void>;
  /** The emulator venv's python: has boto3, plays a remote job's part. */
  python: string;
  stop: () => Promise<void>;
}

/** Starts moto's server and waits until it answers. */
export async function startAwsEmulator(): Promise<AwsEmulator> {
  const bin = await toolVenv(MOTO_VENV, [MOTO_PIN]);
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = execa(join(bin, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    reject: false,
    stdin: 'ignore',
  });
  let output = '';
  server.stderr?.on('data', (c: Buffer) => {
    output = (output + String(c)).slice(-4000);
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${endpoint}/moto-api/data.json`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null || i > 150) {
      server.kill('SIGTERM');
      throw new Error(`moto did not start on ${endpoint}: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint,
    python: join(bin, 'python'),
    motoApi: async (path, body) => {
      const res = await fetch(`${endpoint}/moto-api/${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`moto-api ${path}: ${res.status} ${await res.text()}`);
    },
    stop: async () => {
      server.kill('SIGTERM');
      await server;
    },
  };
}

/** Environment for the aws profile against the emulator: every endpoint on it, dummy credentials. */
export function emulatorEnv(endpoint: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FAIRWAY_PROFILE: 'aws',
    FAIRWAY_S3_ENDPOINT: endpoint,
    FAIRWAY_S3_PATH_STYLE: 'true',
    FAIRWAY_AWS_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: 'testing-key-id',
    AWS_SECRET_ACCESS_KEY: 'testing-secret-key',
    AWS_REGION: 'us-east-1',
    ...extra,
  };
}
