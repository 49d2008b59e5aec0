/**
 * The words Fairway uses for states, defined once: stored by the storage, judged by staleness and
 * scheduling, offered as CLI choices, validated and documented by the UI's API (and type-checked in the
 * browser, which is why this module imports nothing).
 */

/** A run's states, in the order a run goes through them. */
export const RUN_STATUSES = ['QUEUED', 'STARTED', 'SUCCESS', 'FAILURE', 'CANCELED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
/** The states of a run that has not finished (it can be canceled, and holds its partitions). */
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'STARTED'];

/** A step attempt's states. */
export const STEP_STATUSES = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILURE', 'SKIPPED', 'CANCELED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/** An asset partition's status (`fairway status`). */
export const STATUS_KINDS = ['MISSING', 'FRESH', 'STALE', 'FAILED', 'RUNNING'] as const;
export type StatusKind = (typeof STATUS_KINDS)[number];

/** Where an asset stands against its freshness policy. */
export const FRESHNESS_STATES = ['FRESH', 'WARN', 'OVERDUE'] as const;
export type FreshnessState = (typeof FRESHNESS_STATES)[number];
