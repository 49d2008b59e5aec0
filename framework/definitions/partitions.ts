import { DefinitionError } from '../errors/index.ts';
import { GridKeys, type KeyList, keyArray } from './key-list.ts';

/**
 * Partition definitions. A partition key is canonical text: `dim=value` pairs joined by `,` in
 * dimension order (`course_id=erinhills,ingest_date=2026-11-24`); "" means unpartitioned.
 */
export interface StaticPartitions {
  kind: 'static';
  /** Dimension name, e.g. `course_id`. */
  name: string;
  /** Fixed keys, or a function that discovers them at run time (e.g. courses found in the inbox). */
  keys: readonly string[] | (() => readonly string[] | Promise<readonly string[]>);
}

export interface DailyPartitions {
  kind: 'daily';
  /** Dimension name, e.g. `ingest_date`. */
  name: string;
  /** First day, `YYYY-MM-DD`. */
  start: string;
  /** Last day inclusive; default today (UTC) when keys are listed. */
  end?: string;
}

export type DimensionPartitions = StaticPartitions | DailyPartitions;

export interface MultiPartitions {
  kind: 'multi';
  dimensions: readonly [DimensionPartitions, DimensionPartitions];
  /**
   * Optional discovery of the combinations that really exist (e.g. the course × day pairs that have
   * files in the inbox). Without it every combination of the dimensions' keys is a partition.
   */
  discover?: () => readonly string[] | Promise<readonly string[]>;
}

export type PartitionsDefinition = StaticPartitions | DailyPartitions | MultiPartitions;

/** How a downstream partition maps onto its upstream's partitions. */
export type PartitionMapping = 'identity' | 'all';

export const staticPartitions = (name: string, keys: StaticPartitions['keys']): StaticPartitions => ({
  kind: 'static',
  name,
  keys,
});
export const dailyPartitions = (name: string, start: string, end?: string): DailyPartitions => ({
  kind: 'daily',
  name,
  start,
  ...(end ? { end } : {}),
});
export const multiPartitions = (
  a: DimensionPartitions,
  b: DimensionPartitions,
  discover?: MultiPartitions['discover'],
): MultiPartitions => ({ kind: 'multi', dimensions: [a, b], ...(discover ? { discover } : {}) });

export function dimensionNames(def: PartitionsDefinition): string[] {
  return def.kind === 'multi' ? def.dimensions.map((d) => d.name) : [def.name];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SAFE_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `a=1,b=2` into an ordered record; throws on malformed text. */
export function parsePartitionKey(key: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (key === '') return out;
  for (const part of key.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new DefinitionError('PARTITION_INVALID', `Partition '${key}' is not of the form dim=value[,dim=value].`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Builds the canonical key from dimension values, in the definition's dimension order. */
export function formatPartitionKey(def: PartitionsDefinition, values: Record<string, string>): string {
  return dimensionNames(def)
    .map((name) => `${name}=${values[name] ?? ''}`)
    .join(',');
}

/**
 * Validates a user-supplied partition against the definition and returns its canonical key.
 * Values must be safe path segments (no traversal) and dates real ISO days.
 */
export function normalizePartitionKey(def: PartitionsDefinition, key: string, assetKey: string): string {
  const names = dimensionNames(def);
  // A single dimension may be given as its bare value (`erinhills`); parse only `dim=value` text.
  const values = names.length === 1 && !key.includes('=') ? { [names[0]!]: key.trim() } : parsePartitionKey(key);
  const unknown = Object.keys(values).filter((k) => !names.includes(k));
  if (unknown.length > 0) {
    throw new DefinitionError(
      'PARTITION_INVALID',
      `Partition '${key}' of '${assetKey}' names unknown dimension(s) ${unknown.join(', ')}; expected ${names.join(', ')}.`,
    );
  }
  const dims = def.kind === 'multi' ? def.dimensions : [def];
  for (const dim of dims) {
    const value = values[dim.name];
    if (value === undefined || value === '') {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `Partition '${key}' of '${assetKey}' lacks dimension '${dim.name}' (expected ${names.map((n) => `${n}=…`).join(',')}).`,
      );
    }
    if (dim.kind === 'daily' && !isIsoDay(value)) {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `'${value}' is not a valid YYYY-MM-DD day for '${dim.name}' of '${assetKey}'.`,
      );
    }
    if (!SAFE_VALUE.test(value)) {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `'${value}' is not a valid value for '${dim.name}' of '${assetKey}': use letters, digits, '.', '_' or '-' (no slashes).`,
      );
    }
    // declared keys: a value outside them would create a partition nothing can ever make fresh
    if (dim.kind === 'static' && Array.isArray(dim.keys) && !dim.keys.includes(value)) {
      const keys = dim.keys as readonly string[];
      throw new DefinitionError(
        'PARTITION_INVALID',
        `'${value}' is not a '${dim.name}' of '${assetKey}': its keys are ${keys.slice(0, 20).join(', ')}${keys.length > 20 ? ', …' : ''}.`,
      );
    }
    if (dim.kind === 'daily' && value < dim.start) {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `'${value}' is before the first day of '${dim.name}' of '${assetKey}' (${dim.start}).`,
      );
    }
  }
  return formatPartitionKey(def, values);
}

export function isIsoDay(value: string): boolean {
  if (!DATE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

function daysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** A condition on one dimension's value: equal to a value, or a day within an inclusive range. */
export type DimensionFilter = { value: string } | { from: string; to: string };

const matchesDimension = (value: string, f: DimensionFilter | undefined) =>
  f === undefined || ('value' in f ? value === f.value : value >= f.from && value <= f.to);

/**
 * What a definition's keys are listed from at one moment: each dimension's values as discovered now (an
 * open day range ends today), or the combinations `discover` returns. Equal inputs list equal keys, so a
 * long-lived process can keep a list while its inputs do not change (`samePartitionInputs`).
 */
export type PartitionInputs =
  | { kind: 'dimensions'; dimensions: DimensionInputs[] }
  | { kind: 'discovered'; keys: readonly string[] };

/** One dimension's values: a day range (inclusive) or a list. */
type DimensionInputs = { start: string; end: string } | { values: readonly string[] };

/** Calls the definition's discovery functions (once each) and fixes an open day range to `today`. */
export async function resolvePartitionInputs(
  def: PartitionsDefinition,
  today = new Date().toISOString().slice(0, 10),
): Promise<PartitionInputs> {
  if (def.kind === 'multi' && def.discover) return { kind: 'discovered', keys: [...(await def.discover())].sort() };
  const dimensions: DimensionInputs[] = [];
  for (const dim of def.kind === 'multi' ? def.dimensions : [def]) {
    if (dim.kind === 'daily') dimensions.push({ start: dim.start, end: dim.end ?? today });
    else dimensions.push({ values: typeof dim.keys === 'function' ? [...(await dim.keys())] : dim.keys });
  }
  return { kind: 'dimensions', dimensions };
}

/** True when two resolutions of the same definition list the same keys. */
export function samePartitionInputs(a: PartitionInputs, b: PartitionInputs): boolean {
  const sameList = (x: readonly string[], y: readonly string[]) =>
    x === y || (x.length === y.length && x.every((v, i) => v === y[i]));
  if (a.kind === 'discovered' || b.kind === 'discovered') {
    return a.kind === 'discovered' && b.kind === 'discovered' && sameList(a.keys, b.keys);
  }
  return (
    a.dimensions.length === b.dimensions.length &&
    a.dimensions.every((x, i) => {
      const y = b.dimensions[i]!;
      if ('values' in x) return 'values' in y && sameList(x.values, y.values);
      return 'start' in y && x.start === y.start && x.end === y.end;
    })
  );
}

function dimensionKeys(dim: DimensionInputs, f?: DimensionFilter): readonly string[] {
  if ('start' in dim) {
    // a filter narrows the range before it is listed: one day of seven years costs one key, not 2,557
    if (f && 'value' in f) return isIsoDay(f.value) && f.value >= dim.start && f.value <= dim.end ? [f.value] : [];
    return daysBetween(f && f.from > dim.start ? f.from : dim.start, f && f.to < dim.end ? f.to : dim.end);
  }
  return f ? dim.values.filter((k) => matchesDimension(k, f)) : dim.values;
}

/**
 * Lists the partition keys of a definition (discovering at run time where the definition says so); with
 * `filter` only those whose dimension values pass it, listed without enumerating the others where the
 * definition allows (fixed keys and day ranges).
 */
export async function listPartitionKeys(
  def: PartitionsDefinition,
  today = new Date().toISOString().slice(0, 10),
  filter: Readonly<Record<string, DimensionFilter>> = {},
) {
  return listResolvedKeys(def, await resolvePartitionInputs(def, today), filter);
}

/** `listPartitionKeys` from inputs resolved before (no discovery function is called). */
export function listResolvedKeys(
  def: PartitionsDefinition,
  inputs: PartitionInputs,
  filter: Readonly<Record<string, DimensionFilter>> = {},
): string[] {
  return keyArray(listResolvedKeyList(def, inputs, filter)) as string[];
}

/**
 * `listResolvedKeys` as a key list: a two-dimensional definition's keys (a grid) are made only when a
 * caller needs them all, so a judgement that needs only how many there are makes none.
 */
export function listResolvedKeyList(
  def: PartitionsDefinition,
  inputs: PartitionInputs,
  filter: Readonly<Record<string, DimensionFilter>> = {},
): KeyList {
  const names = dimensionNames(def);
  if (inputs.kind === 'discovered') {
    if (!names.some((n) => filter[n])) return [...inputs.keys];
    return inputs.keys.filter((k) => {
      const values = parsePartitionKey(k);
      return names.every((n) => matchesDimension(values[n] ?? '', filter[n]));
    });
  }
  if (def.kind !== 'multi') {
    return dimensionKeys(inputs.dimensions[0]!, filter[def.name]).map((v) =>
      formatPartitionKey(def, { [def.name]: v }),
    );
  }
  const [a, b] = def.dimensions;
  // formatPartitionKey's text, built directly: a million keys through a record each cost a second
  return new GridKeys({
    dimensions: [a.name, b.name],
    first: dimensionKeys(inputs.dimensions[0]!, filter[a.name]),
    second: dimensionKeys(inputs.dimensions[1]!, filter[b.name]),
  });
}

/** Checks a definition itself (names, dates) at load time. */
export function validatePartitionsDefinition(def: PartitionsDefinition, assetKey: string): void {
  const dims = def.kind === 'multi' ? def.dimensions : [def];
  if (def.kind === 'multi' && dims[0]!.name === dims[1]!.name) {
    throw new DefinitionError(
      'PARTITION_INVALID',
      `Asset '${assetKey}' has two partition dimensions named '${dims[0]!.name}'.`,
    );
  }
  for (const dim of dims) {
    if (!/^[a-z][a-z0-9_]*$/.test(dim.name)) {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `Asset '${assetKey}' has a partition dimension named '${dim.name}': use snake_case.`,
      );
    }
    if (dim.kind === 'daily' && (!isIsoDay(dim.start) || (dim.end !== undefined && !isIsoDay(dim.end)))) {
      throw new DefinitionError(
        'PARTITION_INVALID',
        `Asset '${assetKey}' has daily partitions '${dim.name}' with an invalid start/end day (YYYY-MM-DD).`,
      );
    }
    if (dim.kind === 'static' && Array.isArray(dim.keys)) {
      const bad = (dim.keys as string[]).find((k) => !SAFE_VALUE.test(k));
      if (bad !== undefined) {
        throw new DefinitionError(
          'PARTITION_INVALID',
          `Asset '${assetKey}' has static partition key '${bad}' that is not a safe name.`,
        );
      }
    }
  }
}
