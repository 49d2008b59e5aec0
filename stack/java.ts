import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FrameworkError } from '../framework/errors/index.ts';
import { TRINO } from './pins.ts';

const JVM_DIR = '/usr/lib/jvm';
const PREFERRED = join(JVM_DIR, 'temurin-25-jdk-amd64');

/** Java major version of a JDK home, or undefined if it has no working `bin/java`. */
async function majorOf(home: string): Promise<number | undefined> {
  const java = join(home, 'bin', 'java');
  if (!existsSync(java)) return undefined;
  const { execa } = await import('execa'); // loaded on use, not when the stack module loads
  const r = await execa(java, ['-XshowSettings:properties', '-version'], { reject: false });
  const m = /^\s*java\.specification\.version = (\d+)/m.exec(r.stderr);
  return m ? Number(m[1]) : undefined;
}

/**
 * The JDK the stack's servers run on (Trino 476 needs Java 24+; the REST catalog runs on it too):
 * `FAIRWAY_STACK_JAVA_HOME`, else Temurin 25 in /usr/lib/jvm, else `JAVA_HOME`, else the newest
 * JDK in /usr/lib/jvm. It must be a JDK (javac compiles the REST catalog's entry point once).
 */
export async function findStackJava(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.FAIRWAY_STACK_JAVA_HOME;
  const candidates = explicit ? [explicit] : [PREFERRED];
  if (!explicit) {
    if (env.JAVA_HOME) candidates.push(env.JAVA_HOME);
    if (existsSync(JVM_DIR)) {
      for (const d of readdirSync(JVM_DIR).sort().reverse()) candidates.push(join(JVM_DIR, d));
    }
  }
  const seen: string[] = [];
  for (const home of [...new Set(candidates)]) {
    const major = await majorOf(home);
    if (major === undefined) continue;
    seen.push(`${home} (Java ${major})`);
    if (major >= TRINO.minJava && existsSync(join(home, 'bin', 'javac'))) return home;
  }
  throw new FrameworkError(
    'STACK_JAVA_MISSING',
    `Trino ${TRINO.version} needs a JDK ${TRINO.minJava}+ (Java 25 recommended) and none was found` +
      `${explicit ? ` at FAIRWAY_STACK_JAVA_HOME=${explicit}` : ` (looked at ${PREFERRED}, JAVA_HOME and ${JVM_DIR}/*)`}. ` +
      `Found: ${seen.join(', ') || 'none'}. Install a Java 25 JDK (e.g. Eclipse Temurin 25) and set FAIRWAY_STACK_JAVA_HOME to it, ` +
      'or use docker compose (docs/runbook_local_dev.md).',
    { details: { service: 'trino', found: seen } },
  );
}
