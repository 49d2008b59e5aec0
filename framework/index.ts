/**
 * The package's entry (`import { asset, defineAssets } from 'fairway'`): what a definitions module uses —
 * asset and multi-asset specs, partitions, checks, metadata, errors, the pipes protocol for subprocess
 * steps, selections, the root logger — and loading a project from code. Test helpers are in
 * `fairway/testing`.
 */
export * from './definitions/index.ts';
export * from './errors/index.ts';
export { type Logger, rootLogger } from './logging/index.ts';
export {
  type ParsedLine,
  type PipesContext,
  type PipesMessage,
  type PipesProcessOptions,
  type PipesProcessResult,
  parsePipesLine,
  reportedChecks,
  runPipesProcess,
} from './pipes/index.ts';
export {
  type DefinitionsContext,
  type LoadProjectOptions,
  loadProject,
  type OpenProjectOptions,
  openProject,
  type Project,
} from './project/index.ts';
export { evaluateSelection, parseSelection, resolveSelection, type SelectionAst } from './selection/index.ts';
