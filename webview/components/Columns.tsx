/**
 * A stats table's columns (the Analytics model table, the Models leaderboard). Each cell carries its column's
 * label (`data-label`) so that at sidebar width, where the columns cannot fit, each row is laid out as a card of
 * labelled values (styles.css) and every number stays readable instead of being scrolled out of sight.
 */
export interface Column<T> {
  col: string;
  label: string;
  title?: string;
  value: (row: T) => string;
}

export function ColumnHeads<T>({ columns }: { columns: ReadonlyArray<Column<T>> }) {
  return (
    <>
      {columns.map((c) => (
        <th key={c.col} title={c.title}>
          {c.label}
        </th>
      ))}
    </>
  );
}

export function ColumnCells<T>({ columns, row }: { columns: ReadonlyArray<Column<T>>; row: T }) {
  return (
    <>
      {columns.map((c) => (
        <td key={c.col} data-col={c.col} data-label={c.label}>
          {c.value(row)}
        </td>
      ))}
    </>
  );
}
