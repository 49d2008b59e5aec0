import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import type { ObjectStore } from '../object-key.ts';
import { sparkPackageRoot } from '../spark-python.ts';
import { parseS3Uri } from './aws-clients.ts';
import type { DepsArchive } from './deps-archive.ts';
import type { PythonTarget } from './emr-python.ts';
import { storedZip } from './stored-zip.ts';

/**
 * Jars a remote Silver job loads on top of the service's Spark: Iceberg (runtime + AWS bundle: Glue catalog,
 * S3FileIO) and Sedona. Not sqlite-jdbc and fairway-localfs (local catalogs and file:// only). The job reads
 * Bronze with pyarrow (spark/fairway_spark/silver/bronze_files.py), not with a Hadoop S3 client.
 */
const REMOTE_JAR = /^(iceberg-spark-runtime|iceberg-aws-bundle|sedona-spark-shaded|geotools-wrapper)-.+\.jar$/;

/** How a launch uses a bundle file. */
type BundleRole = 'entry_point' | 'py_file' | 'requirements' | 'archive' | 'jar';

/** One object of a bundle: content-addressed key (`files/<sha256>/<name>`) and where its bytes come from. */
interface BundleFile {
  name: string;
  role: BundleRole;
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

/** The job's Python dependencies as the bundle ships them: the archive, its pins and the Python it is for. */
export interface BundleDeps {
  archive: DepsArchive;
  pinsFile: string;
  target: PythonTarget;
}

/** `fairway-spark.zip`: the packages `fairway_spark` and `fairway_pipes` as the job imports them (`--py-files`). */
export const sparkPackageZip = (projectRoot: string): Buffer => storedZip(sparkPackageEntries(projectRoot));

/**
 * Builds the Silver job's bundle from the checkout, the runtime's jars and the dependency archive: the entry
 * point (runs `fairway_spark.silver_job`), the packages as a stored zip (`--py-files`), the dependency archive
 * (`spark.archives`) with the pins it was made from, and the jars. Two builds of the same files are
 * byte-identical, whoever builds them.
 */
export async function buildJobBundle(
  projectRoot: string,
  jars: readonly string[],
  deps: BundleDeps,
): Promise<JobBundle> {
  const inMemory = (name: string, role: BundleRole, data: Buffer): BundleFile => ({
    name,
    role,
    sha256: sha256(data),
    size: data.length,
    source: { data },
  });
  const onDisk = async (name: string, role: BundleRole, path: string): Promise<BundleFile> => ({
    name,
    role,
    sha256: await sha256OfFile(path),
    size: statSync(path).size,
    source: { path },
  });
  const files: BundleFile[] = [
    inMemory('silver_job.py', 'entry_point', ENTRY_POINT),
    inMemory('fairway-spark.zip', 'py_file', sparkPackageZip(projectRoot)),
    inMemory(basename(deps.pinsFile), 'requirements', readFileSync(deps.pinsFile)),
    await onDisk(deps.archive.name, 'archive', deps.archive.path),
  ];
  const shipped = jars
    .filter((j) => REMOTE_JAR.test(basename(j)))
    .sort((a, b) => basename(a).localeCompare(basename(b)));
  for (const path of shipped) files.push(await onDisk(basename(path), 'jar', path));
  const keys = (role: BundleRole) => files.filter((f) => f.role === role).map(fileKey);
  const manifest = Buffer.from(
    `${JSON.stringify(
      {
        format: 2,
        entry_point: keys('entry_point')[0],
        py_files: keys('py_file'),
        archives: keys('archive'),
        python: {
          version: deps.target.version,
          platforms: deps.target.platforms,
          requirements: keys('requirements')[0],
        },
        jars: keys('jar'),
        files: files.map((f) => ({ name: f.name, sha256: f.sha256, size: f.size })),
      },
      null,
      1,
    )}\n`,
  );
  return { id: sha256(manifest).slice(0, 16), manifest, files };
}

/** The S3 URIs a launch uses: the entry point, `--py-files`, archives, jars, and the manifest they came from. */
interface UploadedBundle {
  id: string;
  manifestUri: string;
  entryPoint: string;
  pyFiles: string[];
  /** The dependency archive (without the `#deps` a launch adds). */
  archives: string[];
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
  const uris = (role: BundleRole) => bundle.files.filter((f) => f.role === role).map((f) => uri(fileKey(f)));
  return {
    id: bundle.id,
    manifestUri: uri(`${bundle.id}/bundle.json`),
    entryPoint: uris('entry_point')[0]!,
    pyFiles: uris('py_file'),
    archives: uris('archive'),
    jars: uris('jar'),
    uploaded,
  };
}
