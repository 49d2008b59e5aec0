import { didYouMean } from '../definitions/index.ts';
import { SelectionError } from '../errors/index.ts';
import type { AssetGraph } from '../graph/index.ts';
import type { SelectionAst, SelectionAttribute, SelectionDepth } from './parse-selection.ts';

/**
 * The set of keys a parsed selection matches. `text` is the original selection, for error carets.
 * An unknown exact key is an error; a pattern or attribute that matches nothing gives an empty set.
 */
export function evaluateSelection<R>(graph: AssetGraph<R>, ast: SelectionAst, text: string): Set<string> {
  const all = graph.keys();
  const evaluate = (node: SelectionAst): Set<string> => {
    switch (node.type) {
      case 'key':
        return matchKeys(node.pattern, node.start);
      case 'attribute':
        if (node.name === 'key') return matchKeys(node.value, node.start);
        return new Set(all.filter(attributeMatcher(graph, node.name, node.value)));
      case 'traverse': {
        const base = evaluate(node.operand);
        const result = new Set(base);
        if (node.up !== undefined) for (const k of graph.upstream(base, depthOf(node.up))) result.add(k);
        if (node.down !== undefined) for (const k of graph.downstream(base, depthOf(node.down))) result.add(k);
        return result;
      }
      case 'call': {
        const members = evaluate(node.argument);
        const related = node.name === 'roots' ? graph.parents.bind(graph) : graph.children.bind(graph);
        return new Set([...members].filter((k) => !related(k).some((r) => members.has(r))));
      }
      case 'not': {
        const excluded = evaluate(node.operand);
        return new Set(all.filter((k) => !excluded.has(k)));
      }
      case 'and': {
        const [first, ...rest] = node.operands.map(evaluate);
        return new Set([...first!].filter((k) => rest.every((s) => s.has(k))));
      }
      case 'or':
        return new Set(node.operands.flatMap((o) => [...evaluate(o)]));
    }
  };

  const matchKeys = (pattern: string, position: number): Set<string> => {
    if (!pattern.includes('*')) {
      if (graph.has(pattern)) return new Set([pattern]);
      throw new SelectionError(`Asset '${pattern}' is not defined.${didYouMean(pattern, all)}`, text, position);
    }
    const re = globToRegExp(pattern);
    return new Set(all.filter((k) => re.test(k)));
  };

  return evaluate(ast);
}

/** A predicate over keys for one attribute atom; patterns are compiled once, not per asset. */
function attributeMatcher<R>(
  graph: AssetGraph<R>,
  name: Exclude<SelectionAttribute, 'key'>,
  value: string,
): (key: string) => boolean {
  const re = globToRegExp(value);
  switch (name) {
    case 'group':
      return (key) => {
        const group = graph.definition(key).group;
        return group !== undefined && re.test(group);
      };
    case 'kind':
      return (key) => (graph.definition(key).kinds ?? []).some((k) => re.test(k));
    case 'owner':
      return (key) => (graph.definition(key).owners ?? []).some((o) => re.test(o));
    case 'tag': {
      // `tag:k` means "has tag k" whatever its value; `tag:k=v` also matches the value.
      const eq = value.indexOf('=');
      const tagName = globToRegExp(eq === -1 ? value : value.slice(0, eq));
      const tagValue = eq === -1 ? undefined : globToRegExp(value.slice(eq + 1));
      return (key) =>
        Object.entries(graph.definition(key).tags ?? {}).some(
          ([k, v]) => tagName.test(k) && (!tagValue || tagValue.test(v)),
        );
    }
  }
}

const depthOf = (d: SelectionDepth): number | undefined => (d === 'all' ? undefined : d);

/** `*` matches any run of characters, dots included; everything else is literal. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}
