export { countCsv, countJson, type ExportCounts, haversineMetres, quarantineReason, toNumber } from './count.ts';
export { buildCourseModel, type CourseModel } from './course-model.ts';
export {
  type DailyCourseEntry,
  type DailyExportOptions,
  type DailyFormat,
  type DailyManifest,
  generateDailyExports,
} from './daily.ts';
export { EDGE_CASE_KEYS, type EdgeCaseKey } from './edge-cases.ts';
export {
  GENERATOR,
  GENERATOR_VERSION,
  type GenerateOptions,
  generateSampleData,
  type Manifest,
  type ManifestFile,
} from './generate.ts';
export { type LoadedSample, loadSample, sampleCommand } from './load-sample.ts';
export { mulberry32, type Rng, rngFor } from './prng.ts';
export { type SyntheticCourse, syntheticCourseId, syntheticCourses } from './synthetic.ts';
