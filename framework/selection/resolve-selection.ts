import type { AssetGraph } from '../graph/index.ts';
import { evaluateSelection } from './evaluate-selection.ts';
import { parseSelection } from './parse-selection.ts';

/**
 * The asset keys a selection string selects, in deterministic topological order. Throws
 * `SelectionError` (with a caret under the offending token) for bad syntax or an unknown exact key;
 * a selection that matches nothing returns `[]`.
 *
 * @example
 * resolveSelection(graph, '+gold.pace_summary_by_round'); // the asset and its direct parents
 * resolveSelection(graph, 'group:silver and not tag:pii');
 */
export function resolveSelection<R>(graph: AssetGraph<R>, selection: string): string[] {
  return graph.topologicalOrder(evaluateSelection(graph, parseSelection(selection), selection));
}
