/**
 * What `fairway --help`-style listings say of the lakehouse's own commands, apart from their code: the
 * definitions register them with `lazyCommand`, so `list` and `status` never import the stack, AWS or
 * sample-data code.
 */
export const SAMPLE_COMMAND = {
  description: 'Put generated sample exports (five courses, CSV and JSON) into the inbox as one day’s delivery',
  usage: '[--day YYYY-MM-DD]',
} as const;

export const AWS_COMMAND = {
  description: 'AWS deployment: package the Silver job bundle to S3, render the IAM policies',
  usage: 'package [--dry-run]\n       fairway aws iam [--account ID] [--application ID] [--job-role NAME] [--out DIR]',
} as const;

/** `stack/cli.ts`'s own description and usage of `fairway stack` (a test keeps the two equal). */
export const STACK_COMMAND = {
  description:
    'Install (into ~/.cache/fairway/stack) and run the local profile’s servers on 127.0.0.1: ' +
    'the S3 server (SeaweedFS), the Iceberg REST catalog, Trino and a Spark standalone cluster (master + worker; ' +
    'FAIRWAY_STACK_SERVICES or `up --only` leaves some out). Pid files and logs: <state dir>/stack/.',
  usage:
    'up [--only s3,rest,trino,spark] | down [s3|rest|trino|spark-master|spark-worker|spark] | status | ' +
    'logs [s3|rest|trino|spark-master|spark-worker] [--json] [--lines N]',
} as const;
