import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import type { ObjectStore } from '../object-key.ts';
import { sparkPackageRoot } from '../spark-python.ts';
import { parseS3Uri } from './aws-clients.ts';
import { storedZip } from './stored-zip.ts';

/**
 * Jars a remote Silver job loads on top of the service's Spark: Iceberg (runtime + AWS bundle: Glue catalog,
 * S3FileIO) and Sedona. Not sqlite-jdbc and fairway-localfs (local catalogs and file:// only). The job reads
 * Bronze with pyarrow (spark/fairway_spark/silver/bronze_files.py), not with a Hadoop S3 client.
 */
const REMOTE_JAR = /^(iceberg-spark-runtime|iceberg-aws-bundle|sedona-spark-shaded|geotools-wrapper)-.+\.jar$/;

/** One object of a bundle: content-addressed key (`files/<sha256>/<name>`) and where its bytes come from. */
interface BundleFile {
  name: string;
  sha256: string;
  size: number;
  source: { data: Buffer } | { path: string };
}

/** What a launch refers to: every file by content hash, so one bundle id is one exact job. */
export interface JobBundle {
  /** 16 hex digits of the manifest's sha256. */
  id: string;
  /** The manifest's exact bytes (canonical JSON): `bundles/<id>/bundle.json`. */
  manifest: Buffer;
  files: BundleFile[];
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const fileKey = (f: { name: string; sha256: string }) => `files/${f.sha256}/${f.name}`;

/** The Python packages that go into `fairway-spark.zip` (spark/fairway_spark and its pipes client spark/fairway_pipes). */
function sparkPackageEntries(projectRoot: string) {
  const root = sparkPackageRoot(projectRoot);
  return ['fairway_pipes', 'fairway_spark'].flatMap((pkg) =>
    readdirSync(join(root, pkg), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(py|properties)$/.test(f) && !f.includes('__pycache__'))
      .map((f) => `${pkg}/${f.split(sep).join('/')}`)
      .sort()
      .map((name) => ({ name, data: readFileSync(join(root, name)) })),
  );
}

/**
 * EMR Serverless starts a file, not a module: this entry point runs the job as `python -m fairway_spark.silver_job`
 * would, from the zip on `--py-files`.
 */
const ENTRY_POINT = Buffer.from(
  '"""Runs fairway_spark.silver_job from fairway-spark.zip (spark.submit.pyFiles), as `python -m` does."""\n\n' +
    'import runpy\n\nrunpy.run_module("fairway_spark.silver_job", run_name="__main__", alter_sys=True)\n',
);

/**
 * Builds the Silver job's bundle from the checkout and the runtime's jars: the entry point (runs
 * `fairway_spark.silver_job`), the packages as a stored zip (`--py-files`), the pinned requirements and the
 * jars. Two builds of the same files are byte-identical, whoever builds them.
 */
export async function buildJobBundle(projectRoot: string, jars: readonly string[]): Promise<JobBundle> {
  const inMemory = (name: string, data: Buffer): BundleFile => ({
    name,
    sha256: sha256(data),
    size: data.length,
    source: { data },
  });
  const files: BundleFile[] = [
    inMemory('silver_job.py', ENTRY_POINT),
    inMemory('fairway-spark.zip', storedZip(sparkPackageEntries(projectRoot))),
    inMemory('requirements.txt', readFileSync(join(sparkPackageRoot(projectRoot), 'requirements.txt'))),
  ];
  const shipped = jars
    .filter((j) => REMOTE_JAR.test(basename(j)))
    .sort((a, b) => basename(a).localeCompare(basename(b)));
  for (const path of shipped) {
    files.push({ name: basename(path), sha256: await sha256OfFile(path), size: statSync(path).size, source: { path } });
  }
  const manifest = Buffer.from(
    `${JSON.stringify(
      {
        format: 1,
        entry_point: fileKey(files[0]!),
        py_files: [fileKey(files[1]!)],
        requirements: fileKey(files[2]!),
        jars: files.slice(3).map(fileKey),
        files: files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size })),
      },
      null,
      1,
    )}\n`,
  );
  return { id: sha256(manifest).slice(0, 16), manifest, files };
}

/** The S3 URIs a launch uses: the entry point, `--py-files`, jars, and the manifest they came from. */
interface UploadedBundle {
  id: string;
  manifestUri: string;
  entryPoint: string;
  pyFiles: string[];
  jars: string[];
  /** Files put now (the others were there already: same content, same key). */
  uploaded: string[];
}

/**
 * Uploads a bundle under `bundlesUri` (`s3://bucket/prefix/bundles/`): each file once (its key is its hash,
 * so a file already there is skipped), then the manifest last, so a manifest in S3 means a complete bundle.
 */
export async function uploadJobBundle(
  store: ObjectStore,
  bundlesUri: string,
  bundle: JobBundle,
): Promise<UploadedBundle> {
  const { bucket, key: base } = parseS3Uri(bundlesUri);
  const prefix = base === '' || base.endsWith('/') ? base : `${base}/`;
  const uri = (key: string) => `s3://${bucket}/${prefix}${key}`;
  await store.ensureBucket(bucket);
  const uploaded: string[] = [];
  for (const f of bundle.files) {
    const key = `${prefix}${fileKey(f)}`;
    if ((await store.head(bucket, key))?.size === f.size) continue;
    if ('data' in f.source) await store.put(bucket, key, f.source.data, { sha256: f.sha256 });
    else await store.putFile(bucket, key, f.source.path, { sha256: f.sha256 });
    uploaded.push(f.name);
  }
  await store.put(bucket, `${prefix}${bundle.id}/bundle.json`, bundle.manifest, { contentType: 'application/json' });
  const [entry, zip, , ...jars] = bundle.files;
  return {
    id: bundle.id,
    manifestUri: uri(`${bundle.id}/bundle.json`),
    entryPoint: uri(fileKey(entry!)),
    pyFiles: [uri(fileKey(zip!))],
    jars: jars.map((j) => uri(fileKey(j))),
    uploaded,
  };
}
