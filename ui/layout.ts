import ElkModule, { type ElkNode } from 'elkjs/lib/elk.bundled.js';
import type { AssetGraph } from '../framework/graph/index.ts';

export const NODE_WIDTH = 240;
export const NODE_HEIGHT = 58;
// A CommonJS module: under Node ESM its default import is the constructor itself.
const ELK = ElkModule as unknown as typeof ElkModule.default;
const GROUP_PAD = 14;
const GROUP_HEADER = 26;

/**
 * Above this many assets the built-in layered layout replaces elkjs: measured on this machine, elk's
 * layered algorithm (bundled JS build, in-thread) takes 12–75 s for 2,000 assets and blocks the event loop.
 */
export const ELK_MAX_NODES = 300;

export interface NodePosition {
  key: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GroupBox {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphLayout {
  engine: 'elk' | 'layered';
  width: number;
  height: number;
  nodes: NodePosition[];
  groups: GroupBox[];
  edges: { from: string; to: string }[];
}

const groupOf = (graph: AssetGraph, key: string) => graph.definition(key).group ?? 'default';

function edgesOf(graph: AssetGraph): { from: string; to: string }[] {
  return graph.keys().flatMap((to) => graph.parents(to).map((from) => ({ from, to })));
}

/** Left-to-right layered layout of the asset graph: elkjs for ordinary graphs, a fast built-in one for huge ones. */
export async function computeLayout(graph: AssetGraph): Promise<GraphLayout> {
  return graph.size <= ELK_MAX_NODES ? elkLayout(graph) : layeredLayout(graph);
}

async function elkLayout(graph: AssetGraph): Promise<GraphLayout> {
  const byGroup = new Map<string, string[]>();
  for (const key of graph.topologicalOrder()) {
    const g = groupOf(graph, key);
    byGroup.set(g, [...(byGroup.get(g) ?? []), key]);
  }
  const edges = edgesOf(graph);
  const root: ElkNode = {
    id: '__root__',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.layered.spacing.nodeNodeBetweenLayers': '70',
      'elk.spacing.nodeNode': '18',
      'elk.edgeRouting': 'POLYLINE',
    },
    children: [...byGroup.entries()].map(([name, keys]) => ({
      id: `group:${name}`,
      layoutOptions: {
        'elk.padding': `[top=${GROUP_HEADER + 6},left=${GROUP_PAD},bottom=${GROUP_PAD},right=${GROUP_PAD}]`,
      },
      children: keys.map((key) => ({ id: key, width: NODE_WIDTH, height: NODE_HEIGHT })),
    })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  };
  const out = await new ELK().layout(root);
  const nodes: NodePosition[] = [];
  const groups: GroupBox[] = [];
  for (const g of out.children ?? []) {
    const gx = g.x ?? 0;
    const gy = g.y ?? 0;
    groups.push({ name: g.id.slice('group:'.length), x: gx, y: gy, width: g.width ?? 0, height: g.height ?? 0 });
    for (const n of g.children ?? []) {
      nodes.push({ key: n.id, x: gx + (n.x ?? 0), y: gy + (n.y ?? 0), width: NODE_WIDTH, height: NODE_HEIGHT });
    }
  }
  nodes.sort((a, b) => (a.key < b.key ? -1 : 1));
  return { engine: 'elk', width: out.width ?? 0, height: out.height ?? 0, nodes, groups, edges };
}

/**
 * Topological generations as columns; within a column, assets ordered by group, then by the mean row of
 * their parents (one barycenter sweep), so edges mostly run straight. Linear in the graph size.
 */
export function layeredLayout(graph: AssetGraph): GraphLayout {
  const gapX = 80;
  const gapY = 16;
  const row = new Map<string, number>();
  const nodes: NodePosition[] = [];
  const columns = graph.generations();
  columns.forEach((column, ci) => {
    const score = (k: string) => {
      const ps = graph.parents(k).map((p) => row.get(p) ?? 0);
      return ps.length === 0 ? 0 : ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const ordered = column
      .map((k) => ({ k, g: groupOf(graph, k), s: score(k) }))
      .sort((a, b) => (a.g === b.g ? a.s - b.s || (a.k < b.k ? -1 : 1) : a.g < b.g ? -1 : 1));
    ordered.forEach(({ k }, ri) => {
      row.set(k, ri);
      nodes.push({
        key: k,
        x: GROUP_PAD + ci * (NODE_WIDTH + gapX),
        y: GROUP_HEADER + GROUP_PAD + ri * (NODE_HEIGHT + gapY),
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
      });
    });
  });
  const boxes = new Map<string, GroupBox>();
  for (const n of nodes) {
    const name = groupOf(graph, n.key);
    const b = boxes.get(name);
    const x0 = n.x - GROUP_PAD;
    const y0 = n.y - GROUP_HEADER - GROUP_PAD / 2;
    const x1 = n.x + n.width + GROUP_PAD;
    const y1 = n.y + n.height + GROUP_PAD / 2;
    if (!b) boxes.set(name, { name, x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    else {
      const nx = Math.min(b.x, x0);
      const ny = Math.min(b.y, y0);
      b.width = Math.max(b.x + b.width, x1) - nx;
      b.height = Math.max(b.y + b.height, y1) - ny;
      b.x = nx;
      b.y = ny;
    }
  }
  nodes.sort((a, b) => (a.key < b.key ? -1 : 1));
  const width = nodes.reduce((m, n) => Math.max(m, n.x + n.width), 0) + GROUP_PAD * 2;
  const height = nodes.reduce((m, n) => Math.max(m, n.y + n.height), 0) + GROUP_PAD * 2;
  return { engine: 'layered', width, height, nodes, groups: [...boxes.values()], edges: edgesOf(graph) };
}
