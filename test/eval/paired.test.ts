import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { afterAll, describe, expect, it, vi } from 'vitest';
import yargs from 'yargs';
import { InputError } from '../../src/errors.js';
import { formatP, formatPairedTable, pairedReport, parseCsv, readPairedTable } from '../../src/eval/paired.js';
import { statsCommand } from '../../src/eval/stats-command.js';

const dir = mkdtempSync(join(tmpdir(), 'ganon-paired-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// group "happy, smiling": the 5-pair example of stats.test.ts (d = 2 1 -3 6 0)
const g1a = [5, 7, 3, 10, 6];
const g1b = [3, 6, 6, 4, 6];
// group neutral: 14 pairs with one zero difference (auto -> normal approximation, n > 13)
const g2a = [0.31, 0.42, 0.28, 0.55, 0.61, 0.47, 0.39, 0.52, 0.44, 0.36, 0.58, 0.49, 0.33, 0.41];
const g2b = [0.35, 0.40, 0.36, 0.63, 0.60, 0.55, 0.45, 0.59, 0.44, 0.43, 0.66, 0.50, 0.41, 0.48];
const groups = [...g1a.map(() => 'happy, smiling'), ...g2a.map(() => 'neutral')];
const A = [...g1a, ...g2a];
const B = [...g1b, ...g2b];

// scipy 1.17.1 on the same numbers:
//   happy: wilcoxon -> statistic 3, p 0.625 (permutation); method='approx' z -0.7302967433402214
//          shapiro a W 0.9839636581875411 p 0.9546435261733434, b W 0.7667168471103402 p 0.04219865485551319,
//          a-b W 0.9763882203810681 p 0.914436974847039
//   neutral: wilcoxon -> statistic 4.5, p 0.004085881897310121 (approx), z -2.8714540417561696
//          shapiro a-b W 0.783179278210368 p 0.0031147892360147886
function checkReport(r: ReturnType<typeof pairedReport>): void {
  expect(r.groups.map((g) => g.group)).toEqual(['happy, smiling', 'neutral']);
  const [h, n] = r.groups as [typeof r.groups[0], typeof r.groups[0]];
  expect([h.n, h.nZero, h.statistic, h.rPlus, h.rMinus, h.pvalue, h.method, h.z]).toEqual([5, 1, 3, 7, 3, 0.625, 'permutation', null]);
  expect(h.rZ).toBeCloseTo(-0.7302967433402214, 12);
  expect(h.r).toBeCloseTo(-0.7302967433402214 / Math.sqrt(5), 12);
  expect(h.pBonferroni).toBe(1);
  expect(h.shapiro.a!.w).toBeCloseTo(0.9839636581875411, 12);
  expect(h.shapiro.b!.pvalue).toBeCloseTo(0.04219865485551319, 12);
  expect(h.shapiro.diff!.w).toBeCloseTo(0.9763882203810681, 12);
  expect([n.n, n.nZero, n.statistic, n.method]).toEqual([14, 1, 4.5, 'approx']);
  expect(n.z).toBeCloseTo(-2.8714540417561696, 12);
  expect(n.rZ).toBe(n.z);
  expect(n.pvalue).toBeCloseTo(0.004085881897310121, 15);
  expect(n.pBonferroni).toBeCloseTo(2 * 0.004085881897310121, 15);
  expect(n.r).toBeCloseTo(-2.8714540417561696 / Math.sqrt(14), 12);
  expect(n.shapiro.diff!.w).toBeCloseTo(0.783179278210368, 12);
  expect(n.shapiro.diff!.pvalue).toBeCloseTo(0.0031147892360147886, 12);
}

describe('stats paired: CSV', () => {
  const csv = join(dir, 'scores.csv');
  // CRLF, a quoted group with a comma, a quoted number, a blank line
  writeFileSync(csv, ['emotion,original,"anon ""v2"""', ...groups.map((g, i) => `"${g}",${A[i]},${i === 3 ? `"${B[i]}"` : B[i]}`), '', ''].join('\r\n'));

  it('reads the table and reports per group with Bonferroni across groups', async () => {
    const t = await readPairedTable(csv);
    expect(t.columns).toEqual(['emotion', 'original', 'anon "v2"']);
    expect(t.rows).toHaveLength(19);
    expect(t.rows[0]).toEqual({ emotion: 'happy, smiling', original: '5', 'anon "v2"': '3' });
    const r = pairedReport(t.rows, { a: 'original', b: 'anon "v2"', group: 'emotion', zeroMethod: 'wilcox', correction: false, method: 'auto' });
    expect([r.a, r.b, r.group, r.zeroMethod, r.correction, r.method]).toEqual(['original', 'anon "v2"', 'emotion', 'wilcox', false, 'auto']);
    checkReport(r);
  });

  it('without --group: one group of all rows, Bonferroni over 1', async () => {
    const t = await readPairedTable(csv);
    const r = pairedReport(t.rows, { a: 'original', b: 'anon "v2"', method: 'approx' });
    expect(r.groups).toHaveLength(1);
    const g = r.groups[0]!;
    expect([g.group, g.n, g.nZero, g.method]).toEqual([null, 19, 2, 'approx']);
    expect(g.pBonferroni).toBe(g.pvalue);
    expect(g.r).toBe(g.z! / Math.sqrt(19));
  });

  it('the table: paper stars on the Bonferroni p', async () => {
    const t = await readPairedTable(csv);
    const text = formatPairedTable(pairedReport(t.rows, { a: 'original', b: 'anon "v2"', group: 'emotion' }));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^group\s+n\s+zeros\s+SW original/);
    expect(lines[2]).toMatch(/^happy, smiling\s+5\s+1\s+0\.9840 \(0\.955\).*\(-0\.730297\)\s+0\.6250\s+1\.000\s+-0\.326599\s+permutation$/);
    expect(lines[3]).toMatch(/^neutral\s+14\s+1 .*-2\.871454\s+0\.0041\s+0\.008\*\*\s+-0\.767428\s+approx$/);
    expect(text).toContain('Bonferroni over 2 groups');
    expect(formatP(0.0004)).toBe('<0.001***');
    expect(formatP(0.013)).toBe('0.013*');
    expect(formatP(0.119)).toBe('0.119');
    expect(formatP(NaN)).toBe('-');
  });

  it('bad cells and columns: InputError naming the row and column', () => {
    const rows = [{ g: 'x', a: '1', b: '2' }, { g: 'x', a: '1.5', b: 'abc' }];
    expect(() => pairedReport(rows, { a: 'a', b: 'b' })).toThrow(/row 2, column 'b': 'abc' is not a number/);
    expect(() => pairedReport([{ a: '1', b: '' }], { a: 'a', b: 'b' })).toThrow(/row 1, column 'b': missing value/);
    expect(() => pairedReport([{ a: '1', b: 2 }, { a: Number.NaN, b: 2 }], { a: 'a', b: 'b' })).toThrow(/row 2, column 'a'/);
    expect(() => pairedReport([{ a: '0x10', b: '1' }], { a: 'a', b: 'b' })).toThrow(InputError);
    expect(() => pairedReport([{ g: '', a: '1', b: '1' }], { a: 'a', b: 'b', group: 'g' })).toThrow(/row 1, column 'g': missing value/);
    expect(() => pairedReport(rows, { a: 'a', b: 'nope' })).toThrow(/--b: no column 'nope' \(columns: g, a, b\)/);
    expect(() => pairedReport([], { a: 'a', b: 'b' })).toThrow(/no rows/);
    // scipy raises for a single zero-difference pair under auto: the message names the group
    expect(() => pairedReport([{ g: 'solo', a: '1', b: '1' }], { a: 'a', b: 'b', group: 'g' })).toThrow(/group 'solo'/);
  });

  it('CSV parsing errors', async () => {
    expect(() => parseCsv('a,b\n1,2,3\n', 'f.csv')).toThrow(/f\.csv: line 2 has 3 fields, the header has 2/);
    expect(() => parseCsv('a,a\n1,2\n')).toThrow(/appears twice/);
    expect(() => parseCsv('a,b\n"1,2\n')).toThrow(/unterminated/);
    expect(() => parseCsv('')).toThrow(/empty file/);
    expect(parseCsv('\ufeffa,b\n1,"x\ny"\n').rows).toEqual([{ a: '1', b: 'x\ny' }]);
    await expect(readPairedTable(join(dir, 'missing.csv'))).rejects.toThrow(/cannot read .*ENOENT/);
  });
});

describe('stats paired: Arrow', () => {
  const arrow = join(dir, 'scores.arrow');
  const table = tableFromArrays({
    emotion: groups,
    original: Float64Array.from(A),
    anonymized: Float32Array.from(B), // a float32 column
    exact: Float64Array.from(B),
  });
  writeFileSync(arrow, tableToIPC(table, 'file'));

  it('reads an Arrow IPC file and gives the same report', async () => {
    const t = await readPairedTable(arrow);
    expect(t.columns).toEqual(['emotion', 'original', 'anonymized', 'exact']);
    expect(t.rows).toHaveLength(19);
    expect(typeof t.rows[0]!.original).toBe('number');
    checkReport(pairedReport(t.rows, { a: 'original', b: 'exact', group: 'emotion', zeroMethod: 'wilcox', correction: false, method: 'auto' }));
    // a float32 column is read as its float32 values (promoted exactly to double)
    expect(t.rows[5]!.anonymized).toBe(Math.fround(0.35));
  });

  it('Arrow nulls are missing values', async () => {
    const p = join(dir, 'nulls.arrow');
    const bytes = tableToIPC(tableFromArrays({ a: [1, 2, 3], b: [1.5, null, 2] as unknown as number[] }), 'file');
    writeFileSync(p, bytes);
    const t = await readPairedTable(p);
    expect(() => pairedReport(t.rows, { a: 'a', b: 'b' })).toThrow(/row 2, column 'b': missing value/);
  });

  it('a file that is not Arrow: InputError', async () => {
    const p = join(dir, 'bad.arrow');
    writeFileSync(p, 'not arrow at all');
    await expect(readPairedTable(p)).rejects.toThrow(InputError);
  });
});

describe('ganon stats paired (the yargs module)', () => {
  async function run(args: string[]): Promise<string> {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    try {
      await statsCommand(yargs(args)).strict().fail(false).parseAsync();
    } finally {
      spy.mockRestore();
    }
    return out;
  }
  const csv = join(dir, 'cli.csv');
  writeFileSync(csv, ['g,a,b', ...groups.map((g, i) => `"${g}",${A[i]},${B[i]}`)].join('\n'));

  it('--json prints the report', async () => {
    const out = await run(['paired', '--input', csv, '--a', 'a', '--b', 'b', '--group', 'g', '--json']);
    const r = JSON.parse(out) as ReturnType<typeof pairedReport>;
    expect(r.groups[1]!.pvalue).toBeCloseTo(0.004085881897310121, 15);
    expect(r.groups[0]!.z).toBeNull();
  });

  it('options reach the test; without --json a table', async () => {
    const out = await run(['paired', '--input', csv, '--a', 'a', '--b', 'b', '--zero-method', 'zsplit', '--correction', '--method', 'approx']);
    expect(out).toMatch(/zero method zsplit, continuity correction on, method approx/);
    expect(out).toMatch(/^\(all\)\s+19\s+2 /m);
  });

  it('rejects an unknown zero method', async () => {
    await expect(run(['paired', '--input', csv, '--a', 'a', '--b', 'b', '--zero-method', 'nope'])).rejects.toThrow(/Invalid values|Choices/);
  });
});
