/**
 * OpenLineage run events for every run and step, sent to a file, an HTTP receiver (e.g. Marquez) or stderr.
 * Off unless `FAIRWAY_OPENLINEAGE_TRANSPORT` is set; loaded on demand by `launchRun`.
 */
export { type LineageEmitterOptions, lineageEmitter, RUN_JOB_NAME } from './lineage-emitter.ts';
export {
  describeOpenLineageConfig,
  lineageEndpointUrl,
  type OpenLineageConfig,
  openLineageConfigFrom,
} from './openlineage-config.ts';
export {
  type DatasetRef,
  FACET_SCHEMA_URLS,
  FAIRWAY_PRODUCER,
  OPENLINEAGE_SCHEMA_URL,
  type RunEvent,
  runUuid,
  stableUuid,
  ulidToUuid,
} from './run-event.ts';
export { type RunLineage, startRunLineage } from './start-run-lineage.ts';
export { createTransport, type LineageTransport, lineageFileOf } from './transports.ts';
