import type { ColumnSource } from 'hyparquet-writer';
import { writeFileAtomic } from '../fs/atomic-write.js';

/**
 * A column-typed table written twice: CSV for spreadsheets and eyes, Parquet for pandas/polars/duckdb.
 * Both files go through writeFileAtomic, so a reader never sees half a table.
 */

export type ColumnType = 'string' | 'double' | 'int32' | 'int64' | 'boolean';
export type Cell = string | number | boolean | null;

export interface TableColumn {
  name: string;
  type: ColumnType;
  values: Cell[];
}

export type TableFormat = 'csv' | 'parquet';
export const TABLE_FORMATS: readonly TableFormat[] = ['csv', 'parquet'];

const PARQUET_TYPES = {
  string: 'STRING',
  double: 'DOUBLE',
  int32: 'INT32',
  int64: 'INT64',
  boolean: 'BOOLEAN',
} as const;

function rowCount(columns: readonly TableColumn[]): number {
  const count = columns[0]?.values.length ?? 0;
  for (const column of columns) {
    if (column.values.length !== count) {
      throw new Error(`table column '${column.name}' has ${column.values.length} values, expected ${count}`);
    }
  }
  return count;
}

/** RFC 4180 quoting: only fields with a comma, quote or line break are quoted. */
export function csvField(cell: Cell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') return Number.isFinite(cell) ? String(cell) : '';
  if (typeof cell === 'boolean') return cell ? 'true' : 'false';
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function tableToCsv(columns: readonly TableColumn[]): string {
  const rows = rowCount(columns);
  const lines: string[] = [columns.map((c) => csvField(c.name)).join(',')];
  for (let i = 0; i < rows; i++) {
    let line = '';
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) line += ',';
      line += csvField((columns[c] as TableColumn).values[i] ?? null);
    }
    lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

function parquetData(column: TableColumn): ColumnSource['data'] {
  switch (column.type) {
    case 'int64':
      // Parquet INT64 needs BigInt; counters and byte counts exceed int32.
      return column.values.map((v) =>
        typeof v === 'number' && Number.isFinite(v) ? BigInt(Math.round(v)) : null,
      );
    case 'int32':
      return column.values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : null));
    case 'double':
      return column.values.map((v) => (typeof v === 'number' && Number.isFinite(v) ? v : null));
    case 'boolean':
      return column.values.map((v) => (typeof v === 'boolean' ? v : null));
    case 'string':
      return column.values.map((v) => (v === null ? null : String(v)));
  }
}

/** Parquet bytes. The writer is imported on first use: commands that write no table start faster. */
export async function tableToParquet(
  columns: readonly TableColumn[],
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  rowCount(columns);
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buffer = parquetWriteBuffer({
    columnData: columns.map((column) => ({
      name: column.name,
      data: parquetData(column),
      type: PARQUET_TYPES[column.type],
    })),
    kvMetadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    createdBy: 'llem',
  });
  return new Uint8Array(buffer);
}

/**
 * Writes `<stem>.csv` and/or `<stem>.parquet` atomically and returns the paths written, by format.
 * `stem` is a full path without extension.
 */
export async function writeTable(
  stem: string,
  columns: readonly TableColumn[],
  formats: readonly TableFormat[] = TABLE_FORMATS,
  metadata: Record<string, string> = {},
): Promise<Partial<Record<TableFormat, string>>> {
  const written: Partial<Record<TableFormat, string>> = {};
  if (formats.includes('csv')) {
    written.csv = `${stem}.csv`;
    await writeFileAtomic(written.csv, tableToCsv(columns));
  }
  if (formats.includes('parquet')) {
    written.parquet = `${stem}.parquet`;
    await writeFileAtomic(written.parquet, await tableToParquet(columns, metadata));
  }
  return written;
}

/** Parses CSV text (RFC 4180, as written by tableToCsv) into a header and string rows. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  if (!text.includes('"')) {
    // Fast path (timeseries files): nothing is quoted, so lines and commas split cleanly.
    const lines = text.split(/\r?\n|\r/);
    if (lines[lines.length - 1] === '') lines.pop();
    const [header = [], ...rows] = lines.map((line) => line.split(','));
    return { header, rows };
  }
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      record.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += ch;
    i++;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [header = [], ...rows] = records;
  return { header, rows };
}
