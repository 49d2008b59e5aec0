export type { AssetGraph } from './asset-graph.ts';
export { buildGraph } from './build-graph.ts';
