export {
  type DefinitionsContext,
  definitionsPath,
  definitionsReloader,
  type LoadProjectOptions,
  loadProject,
  type OpenProjectOptions,
  openProject,
  type Project,
  stateDirOf,
} from './load-project.ts';
export { type LoadStatusOptions, loadStatus, type ProjectStatus } from './load-status.ts';
export { StatusCache } from './status-cache.ts';
