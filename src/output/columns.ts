/**
 * Plain aligned columns (no borders) for the big tables: plan's peer lists and status's rows. Written by
 * hand on purpose: cli-table3 checks every earlier row for span conflicts on each cell, which is
 * O(rows²) per table — a 1,000-node mesh plan spent 85 % of 150 s there. This is O(cells).
 */
export interface ColumnOptions {
  /** Spaces before the first column. */
  indent?: number
  /** Spaces between columns. */
  gap?: number
}

export function formatColumns(rows: readonly (readonly string[])[], options: ColumnOptions = {}): string[] {
  const widths: number[] = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (cell.length > (widths[i] ?? 0)) widths[i] = cell.length
    })
  }
  const indent = ' '.repeat(options.indent ?? 0)
  const gap = ' '.repeat(options.gap ?? 2)
  return rows.map((row) => (indent + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join(gap)).trimEnd())
}
