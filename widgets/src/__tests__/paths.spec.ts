import { basename, isIngestible, tableNameFromPath } from '../paths';

describe('basename', () => {
  it('takes the last component', () => {
    expect(basename('data/raw/a.csv')).toBe('a.csv');
    expect(basename('a.csv')).toBe('a.csv');
    expect(basename('data/dir/')).toBe('dir');
  });
});

describe('isIngestible', () => {
  it('accepts CSV, JSON, JSON lines and Parquet files', () => {
    for (const path of ['a.csv', 'x/b.json', 'c.JSONL', 'd/e.parquet']) {
      expect(isIngestible(path)).toBe(true);
    }
  });
  it('refuses the rest', () => {
    for (const path of ['a.ipynb', 'b.tsv', 'c.csv.gz', '.csv', 'dir/']) {
      expect(isIngestible(path)).toBe(false);
    }
  });
});

describe('tableNameFromPath', () => {
  it('makes an identifier of the stem', () => {
    expect(tableNameFromPath('raw/Events 2024-01.csv')).toBe('events_2024_01');
    expect(tableNameFromPath('gapminder.csv')).toBe('gapminder');
    expect(tableNameFromPath('--odd--name--.jsonl')).toBe('odd_name');
  });
  it('never starts with a digit and is never empty', () => {
    expect(tableNameFromPath('2024.csv')).toBe('t_2024');
    expect(tableNameFromPath('é.csv')).toBe('table');
  });
  it('stays within the lake limit', () => {
    expect(tableNameFromPath(`${'a'.repeat(300)}.csv`)).toHaveLength(128);
  });
  it('accepts what the lake accepts', () => {
    for (const path of ['raw/Events 2024-01.csv', '2024.csv', 'é.csv', 'x y.parquet']) {
      expect(tableNameFromPath(path)).toMatch(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/);
    }
  });
});
