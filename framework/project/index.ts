export {
  type DefinitionsContext,
  definitionsPath,
  type LoadProjectOptions,
  loadProject,
  type Project,
  runDir,
  stateDirOf,
} from './load-project.ts';
export { loadStatus, type ProjectStatus } from './load-status.ts';
