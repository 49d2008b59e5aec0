/**
 * Progress of a tool that downloads (pip, Maven) as lines for a non-interactive shell, where a progress bar
 * shows nothing: what is being downloaded, how much of the expected total so far, and the time elapsed. A
 * line at most every `everyMs` while files arrive, and a heartbeat when nothing arrives for as long.
 *
 * @example
 * const p = new DownloadProgress('maven', 500, progress);
 * for await (const line of mvn.iterable()) p.line(String(line));
 * p.done();
 */
export class DownloadProgress {
  readonly #started = Date.now();
  #bytes = 0;
  #files = 0;
  #last = '';
  #current: Transfer | undefined;
  #printedAt = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly tool: string,
    /** Roughly what a first run downloads, in MB (the tools do not say in advance). */
    readonly expectedMb: number,
    readonly progress: (message: string) => void,
    readonly everyMs = 10_000,
  ) {
    this.#printedAt = this.#started;
    this.#timer = setInterval(
      () => {
        if (Date.now() - this.#printedAt >= this.everyMs) this.#print();
      },
      Math.min(this.everyMs, 5_000),
    );
    this.#timer.unref();
  }

  /** Reads one output line of the tool; returns the transfer it reports, if any. */
  line(text: string): Transfer | undefined {
    const t = parseTransfer(text);
    if (!t) return undefined;
    this.#last = t.file;
    // pip says only when a file starts (with its size): it has arrived when the next one starts
    this.#settle();
    if (t.done) {
      this.#files++;
      this.#bytes += t.bytes;
    } else {
      this.#current = t;
    }
    if (Date.now() - this.#printedAt >= this.everyMs || (!t.done && t.bytes >= 50e6)) this.#print();
    return t;
  }

  /** Stops the heartbeat; prints the totals when anything was downloaded. */
  done(): void {
    clearInterval(this.#timer);
    this.#settle();
    if (this.#files > 0) this.progress(`${this.tool}: ${this.#summary()}, done`);
  }

  #settle(): void {
    if (this.#current?.bytes) {
      this.#files++;
      this.#bytes += this.#current.bytes;
    }
    this.#current = undefined;
  }

  #summary(): string {
    return `${this.#files} files, ${formatMb(this.#bytes)} of ~${this.expectedMb} MB downloaded, ${formatElapsed(Date.now() - this.#started)} elapsed`;
  }

  #print(): void {
    this.#printedAt = Date.now();
    const t = this.#current;
    const now = t ? `downloading ${t.file}${t.bytes ? ` (${formatMb(t.bytes)})` : ''}; ` : '';
    const last = !now && this.#last ? ` (last: ${this.#last})` : '';
    this.progress(`${this.tool}: ${now}${this.#summary()}${last}`);
  }
}

/** A file a tool reports: `done` once it has arrived (Maven's "Downloaded"), else as it starts (pip, Maven). */
export interface Transfer {
  file: string;
  bytes: number;
  done: boolean;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const sizeOf = (n: string, unit: string) => Number(n) * (UNITS[unit.toLowerCase()] ?? 1);

/**
 * One transfer in a line of pip (`Downloading pyspark-3.5.3.tar.gz (317.3 MB)`, as it starts) or of Maven in
 * batch mode (`Downloading from central: https://…/x.jar`, then `Downloaded from central: …/x.jar (1.2 MB at 3 MB/s)`).
 */
export function parseTransfer(text: string): Transfer | undefined {
  const maven = /^(?:\[INFO\]\s+)?Download(ed|ing) from [^:]+: (\S+)(?: \((\d+(?:\.\d+)?) ([kKmMgG]?B))?/.exec(
    text.trim(),
  );
  if (maven) {
    const file = maven[2]!.split('/').pop()!;
    return { file, bytes: maven[3] ? sizeOf(maven[3], maven[4]!) : 0, done: maven[1] === 'ed' };
  }
  const pip = /^Downloading (\S+)(?: \((\d+(?:\.\d+)?) ([kKmMgG]i?B)\))?/.exec(text.trim());
  if (pip) {
    const file = pip[1]!.split('/').pop()!;
    return { file, bytes: pip[2] ? sizeOf(pip[2], pip[3]!) : 0, done: false };
  }
  return undefined;
}

const formatMb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
