/**
 * What `fairway --help`-style listings say of the lakehouse's own commands, apart from their code: the
 * definitions register them with `lazyCommand`, so `list` and `status` never import the AWS or sample-data code.
 */
export const SAMPLE_COMMAND = {
  description: 'Put generated sample exports (five courses, CSV and JSON) into the inbox as one day’s delivery',
  usage: '[--day YYYY-MM-DD]',
} as const;

export const AWS_COMMAND = {
  description: 'AWS deployment: package the Silver job bundle to S3, render the IAM policies',
  usage: 'package [--dry-run]\n       fairway aws iam [--account ID] [--application ID] [--job-role NAME] [--out DIR]',
} as const;
