export { signalGroup, tieGroupToThisProcess } from './child-group.ts';
export { followLines } from './follow-lines.ts';
export {
  type ParsedLine,
  type PipesMessage,
  type PipesReceived,
  parsePipesLine,
  pipesMessageSchema,
  receivePipesLines,
  reportedChecks,
} from './messages.ts';
export {
  type PipesContext,
  type PipesProcessOptions,
  type PipesProcessResult,
  runPipesProcess,
} from './run-pipes-process.ts';
