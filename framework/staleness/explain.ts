import { describeCause, type PartitionStatus } from './causes.ts';
import type { StalenessResult } from './compute-staleness.ts';

export interface WhyLine {
  depth: number;
  asset_key: string;
  partition_key: string;
  text: string;
}

/**
 * The causal chain behind an asset partition's status, down to the root causes: each
 * `upstream_stale` cause is followed into that upstream.
 */
export function explainStatus(result: StalenessResult, key: string, partition: string, maxDepth = 20): WhyLine[] {
  const lines: WhyLine[] = [];
  const visit = (k: string, p: string, depth: number, seen: Set<string>) => {
    const s: PartitionStatus | undefined = result.get(k)?.get(p);
    const label = `${k}${p ? ` [${p}]` : ''}`;
    if (!s) {
      lines.push({ depth, asset_key: k, partition_key: p, text: `${label} has no status (unknown partition?)` });
      return;
    }
    const head =
      s.status === 'FRESH'
        ? `${label} is FRESH: its data is up to date with its code and its upstream data`
        : s.status === 'RUNNING'
          ? `${label} is RUNNING now`
          : `${label} is ${s.status} because:`;
    lines.push({ depth, asset_key: k, partition_key: p, text: head });
    for (const c of s.causes) {
      lines.push({ depth: depth + 1, asset_key: k, partition_key: p, text: `- ${describeCause(c)}` });
      const id = c.kind === 'upstream_stale' ? `${c.upstream}|${c.partition}` : '';
      if (c.kind === 'upstream_stale' && depth < maxDepth && !seen.has(id)) {
        seen.add(id);
        visit(c.upstream, c.partition, depth + 2, seen);
      }
    }
  };
  visit(key, partition, 0, new Set());
  return lines;
}
