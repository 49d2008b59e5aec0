export { evaluateSelection } from './evaluate-selection.ts';
export {
  parseSelection,
  SELECTION_ATTRIBUTES,
  SELECTION_FUNCTIONS,
  type SelectionAst,
  type SelectionAttribute,
  type SelectionDepth,
  type SelectionFunction,
} from './parse-selection.ts';
export { resolveSelection } from './resolve-selection.ts';
