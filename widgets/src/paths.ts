/**
 * File paths as the file browser gives them (relative to the server's root,
 * "/"-separated): which files can be ingested, and the table name a file
 * suggests.
 */

/** The file extensions the lake ingests (GET sniff and POST tables read them). */
export const INGESTIBLE_EXTENSIONS = ['.csv', '.json', '.jsonl', '.parquet'];

/** The last component of a path: "data/raw/a.csv" -> "a.csv". */
export function basename(path: string): string {
  const parts = path.split('/').filter(part => part.length > 0);
  return parts.length > 0 ? parts[parts.length - 1] : '';
}

/** Whether the lake can ingest the file at `path` (by its extension, case-insensitive). */
export function isIngestible(path: string): boolean {
  const name = basename(path).toLowerCase();
  return INGESTIBLE_EXTENSIONS.some(
    ext => name.endsWith(ext) && name.length > ext.length
  );
}

/** The longest table name the lake accepts. */
const MAX_TABLE_NAME = 128;

/**
 * The table name a file suggests: its stem, lower-cased, every run of other
 * characters than letters, digits and "_" made one "_", trimmed of "_", with
 * "t_" in front when it would start with a digit (the lake's names are
 * identifiers: `^[A-Za-z_][A-Za-z0-9_]{0,127}$`).
 * "raw/Events 2024-01.csv" -> "events_2024_01"; "2024.csv" -> "t_2024".
 */
export function tableNameFromPath(path: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  let table = stem
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (table.length === 0) {
    return 'table';
  }
  if (/^[0-9]/.test(table)) {
    table = `t_${table}`;
  }
  return table.slice(0, MAX_TABLE_NAME);
}
