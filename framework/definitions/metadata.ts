import type { z } from 'zod';
import { lazySchema } from '../validation/index.ts';

/** Typed metadata values attached to materializations and check results (the schema, built on first use). */
export const metadataValueSchema = lazySchema((z) =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('int'), value: z.number().int() }),
    z.object({ type: z.literal('float'), value: z.number() }),
    z.object({ type: z.literal('text'), value: z.string() }),
    z.object({ type: z.literal('json'), value: z.unknown() }),
    z.object({ type: z.literal('row_count'), value: z.number().int().nonnegative() }),
    z.object({ type: z.literal('path'), value: z.string() }),
    z.object({ type: z.literal('url'), value: z.string().url() }),
    z.object({ type: z.literal('markdown'), value: z.string() }),
    z.object({
      type: z.literal('table_schema'),
      value: z.array(z.object({ name: z.string(), type: z.string(), nullable: z.boolean().optional() })),
    }),
  ]),
);
export type MetadataValue = z.infer<ReturnType<typeof metadataValueSchema>>;
/** Metadata of a materialization or a check result: name → typed value. */
export const metadataSchema = lazySchema((z) => z.record(z.string(), metadataValueSchema()));
export type Metadata = z.infer<ReturnType<typeof metadataSchema>>;

/** Short constructors: `md.rowCount(12)`, `md.text('ok')`. */
export const md = {
  int: (value: number): MetadataValue => ({ type: 'int', value }),
  float: (value: number): MetadataValue => ({ type: 'float', value }),
  text: (value: string): MetadataValue => ({ type: 'text', value }),
  json: (value: unknown): MetadataValue => ({ type: 'json', value }),
  rowCount: (value: number): MetadataValue => ({ type: 'row_count', value }),
  path: (value: string): MetadataValue => ({ type: 'path', value }),
  url: (value: string): MetadataValue => ({ type: 'url', value }),
  markdown: (value: string): MetadataValue => ({ type: 'markdown', value }),
  tableSchema: (value: { name: string; type: string; nullable?: boolean }[]): MetadataValue => ({
    type: 'table_schema',
    value,
  }),
};

/** Numeric value of a metadata entry (for plots), or undefined. */
export function numericValue(v: MetadataValue): number | undefined {
  return v.type === 'int' || v.type === 'float' || v.type === 'row_count' ? v.value : undefined;
}
