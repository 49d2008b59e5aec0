/** The lakehouse's own error codes (docs/errors.md; `framework/errors/codes.ts` has the framework's). */
export const LAKEHOUSE_ERROR_CODES = {
  BRONZE_FILES_QUARANTINED:
    "Every file of a course-day was quarantined; the reasons are in the message and in Bronze's quarantine.",
  BRONZE_FILES_UNSETTLED:
    'The files of a course-day are still being written: materialize again once they are complete.',
  BRONZE_INPUT_INVALID: 'An export cannot be read as CSV or JSON at all (it is quarantined with this reason).',
  BRONZE_NO_FILES: 'Nothing landed in the inbox for that course and day.',
  INBOX_UNREADABLE:
    "The inbox (local folder or bucket) cannot be listed: check the path or the S3 server's credentials.",
  BUCKET_INVALID: 'A bucket name is not 3–63 characters of a-z, 0-9, ".", "-".',
  OBJECT_KEY_INVALID: 'An object key is absolute, has "..", or characters outside [A-Za-z0-9._=-/].',
  OBJECT_NOT_FOUND: 'The object does not exist in the bucket.',
  CONFIG_INVALID: 'A profile setting (config/*.env, the environment, courses.json) is not valid; the message names it.',
  COURSE_UNKNOWN: 'A course id is not in the course reference (courses.json).',
  DBT_EVENT_TIME_INVALID: "A dbt model's event_time does not name one lowercase column.",
  DBT_PROFILE_FAILED: "Rendering dbt's profiles.yml (spark/dbt_profile.py) failed.",
  DBT_PROFILE_SECRET: 'A secret would be written into profiles.yml in clear: pass it through the environment.',
  PYTHON_DEPS_FAILED:
    "The remote job's Python dependencies could not be packaged: a pin is not exact or names pyspark/py4j, or pip found no wheel for the target.",
  PUBLISH_FAILED:
    "Publishing a run's audit branch to main failed (a conflict with another run, or the catalog); nothing was published.",
  QUERY_CANCELED: 'The query was canceled (Athena stopped it).',
  REMOTE_SPARK_FAILED: 'The Spark job on EMR Serverless failed or could not be started; its state and logs are named.',
} as const satisfies Record<string, string>;

declare module '../../framework/errors/index.ts' {
  interface ErrorCodes extends Record<keyof typeof LAKEHOUSE_ERROR_CODES, string> {}
}
