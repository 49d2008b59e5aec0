import type { AssetKey } from '../framework/definitions/index.ts';
import { UsageError } from '../framework/errors/index.ts';
import type { Project } from '../framework/project/index.ts';
import { resolveSelection } from '../framework/selection/index.ts';

/** The assets a command's selection argument names (default all, in topological order); none is a usage error. */
export function selectKeys(project: Project, selection: string | undefined): AssetKey[] {
  if (!selection) return project.graph.topologicalOrder();
  const keys = resolveSelection(project.graph, selection);
  if (keys.length === 0)
    throw new UsageError(`The selection '${selection}' matches no asset. Run 'fairway list' to see the assets.`);
  return keys;
}
