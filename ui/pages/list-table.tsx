import type { Child } from 'hono/jsx';

/**
 * A `table.list`: a header row of column names, then the rows the page draws. Pages name their columns once
 * here instead of repeating the `thead` markup; the table's id and data attributes pass through.
 */
export function ListTable(props: {
  head: readonly string[];
  class?: string;
  id?: string;
  children?: Child;
  [data: `data-${string}`]: string | undefined;
}) {
  const { head, class: extra, children, ...attrs } = props;
  return (
    <table class={extra ? `list ${extra}` : 'list'} {...attrs}>
      <thead>
        <tr>
          {head.map((h) => (
            <th>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
