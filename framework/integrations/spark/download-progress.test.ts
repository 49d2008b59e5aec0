import { describe, expect, it } from 'vitest';
import { DownloadProgress, parseTransfer } from './download-progress.ts';

describe('parseTransfer', () => {
  it('reads pip and Maven download lines', () => {
    expect(parseTransfer('  Downloading pyspark-3.5.3.tar.gz (317.3 MB)')).toEqual({
      file: 'pyspark-3.5.3.tar.gz',
      bytes: 317.3e6,
      done: false,
    });
    expect(
      parseTransfer(
        '[INFO] Downloaded from central: https://repo.maven.apache.org/maven2/org/x/y/1.0/y-1.0.jar (1.5 MB at 3.2 MB/s)',
      ),
    ).toEqual({ file: 'y-1.0.jar', bytes: 1.5e6, done: true });
    expect(parseTransfer('Downloading from central: https://repo/a/b/c-2.pom')).toEqual({
      file: 'c-2.pom',
      bytes: 0,
      done: false,
    });
    expect(parseTransfer('Collecting pyspark==3.5.3')).toBeUndefined();
  });
});

describe('DownloadProgress', () => {
  it('says what is downloading, how much of the expected total has arrived and the time elapsed', () => {
    const lines: string[] = [];
    const p = new DownloadProgress('pip', 320, (m) => lines.push(m), 0);
    p.line('Downloading pyspark-3.5.3.tar.gz (317.3 MB)');
    p.line('Downloading py4j-0.10.9.7-py2.py3-none-any.whl (200 kB)');
    p.done();
    expect(lines).toEqual([
      'pip: downloading pyspark-3.5.3.tar.gz (317.3 MB); 0 files, 0.0 MB of ~320 MB downloaded, 0:00 elapsed',
      'pip: downloading py4j-0.10.9.7-py2.py3-none-any.whl (0.2 MB); 1 files, 317.3 MB of ~320 MB downloaded, 0:00 elapsed',
      'pip: 2 files, 317.5 MB of ~320 MB downloaded, 0:00 elapsed, done',
    ]);
  });

  it('counts a Maven file once, when it has arrived', () => {
    const lines: string[] = [];
    const p = new DownloadProgress('maven', 500, (m) => lines.push(m), 0);
    p.line('Downloading from central: https://repo/a/x-1.jar');
    p.line('Downloaded from central: https://repo/a/x-1.jar (2.0 MB at 1 MB/s)');
    p.done();
    expect(lines.at(-1)).toBe('maven: 1 files, 2.0 MB of ~500 MB downloaded, 0:00 elapsed, done');
  });

  it('prints nothing when nothing was downloaded (a warm cache)', () => {
    const lines: string[] = [];
    const p = new DownloadProgress('pip', 320, (m) => lines.push(m));
    p.line('Requirement already satisfied: pyspark');
    p.done();
    expect(lines).toEqual([]);
  });
});
