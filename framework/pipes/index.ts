export { signalGroup, tieGroupToThisProcess } from './child-group.ts';
export { followLines } from './follow-lines.ts';
export { type ParsedLine, type PipesMessage, PipesMessageSchema, parsePipesLine, reportedChecks } from './messages.ts';
export {
  openComputeLog,
  type PipesContext,
  type PipesProcessOptions,
  type PipesProcessResult,
  runPipesProcess,
} from './run-pipes-process.ts';
