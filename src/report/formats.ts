/**
 * A ReportTable as CSV, Arrow, Parquet, markdown and HTML.
 * CSV and Parquet hold the numbers unrounded (null for missing); markdown and HTML show them in the
 * column's display format. The Parquet file (parquet-wasm, Snappy) carries the table's title and
 * inputs as key-value metadata ('ganon.title', 'ganon.inputs'); pandas, polars and duckdb read it.
 */
import { Float64, Int32, Table, Utf8, tableToIPC, vectorFromArray, type Vector } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import type { Provenance } from './runs.js';
import { formatCell, type Cell, type ReportTable } from './tables.js';

function csvField(v: Cell): string {
  if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row; empty field for null. */
export function toCsv(t: ReportTable): string {
  return [t.columns.map((c) => csvField(c.name)), ...t.rows.map((r) => r.map(csvField))].map((r) => r.join(',')).join('\n') + '\n';
}

/** The table as an Arrow table with typed, nullable columns. */
export function toArrow(t: ReportTable): Table {
  const cols: Record<string, Vector> = {};
  t.columns.forEach((c, j) => {
    const vals = t.rows.map((r) => {
      const v = r[j];
      if (v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return null;
      return c.type === 'string' ? String(v) : Number(v);
    });
    const type = c.type === 'string' ? new Utf8() : c.type === 'int32' ? new Int32() : new Float64();
    cols[c.name] = vectorFromArray(vals as never[], type as never) as Vector;
  });
  return new Table(cols);
}

export function toParquet(t: ReportTable): Uint8Array {
  const wasmTable = pq.Table.fromIPCStream(tableToIPC(toArrow(t), 'stream'));
  const meta = new Map<string, string>([['ganon.title', t.title], ['ganon.paper', t.paper], ['ganon.inputs', JSON.stringify(t.inputs)]]);
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).setKeyValueMetadata(meta).build();
  return pq.writeParquet(wasmTable, props);
}

function mdEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A GFM table: text columns left, numbers right. */
export function toMarkdownTable(t: ReportTable): string {
  const head = `| ${t.columns.map((c) => mdEscape(c.name)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.type === 'string' ? ':---' : '---:')).join('|')}|`;
  const body = t.rows.map((r) => `| ${r.map((v, j) => mdEscape(formatCell(v, t.columns[j]!.format))).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

/** 'Inputs: ...' — everything a reader needs to know where the numbers come from. */
export function inputsText(p: Provenance | null): string {
  if (!p) return 'Inputs: image files given to the report.';
  const parts = [`run ${p.run} (${p.kind})`, `dataset ${p.dataset ?? 'not recorded'}`, `split ${p.split ?? 'not recorded'}`, `N ${p.n ?? '?'}${p.n !== null ? ` ${p.nLabel}` : ''}`];
  if (p.model) parts.push(`${p.model.role} ${p.model.name}${p.model.proxy ? ' (proxy, not the paper\'s model)' : ''}, weights sha256 ${p.model.sha256 ?? 'not recorded'}`);
  else if (p.kind === 'identity' || p.kind === 'emotion' || p.kind === 'attributes' || p.kind === 'emotion-training') parts.push('model not recorded');
  parts.push(`ganon ${p.toolkitVersion ?? 'version not recorded'}${p.gitCommit ? ` (commit ${p.gitCommit})` : ''}`);
  return `Inputs: ${parts.join('; ')}.`;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function toHtmlTable(t: ReportTable): string {
  const head = `<tr>${t.columns.map((c) => `<th class="${c.type === 'string' ? 't' : 'n'}">${escapeHtml(c.name)}</th>`).join('')}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((v, j) => `<td class="${t.columns[j]!.type === 'string' ? 't' : 'n'}">${escapeHtml(formatCell(v, t.columns[j]!.format))}</td>`).join('')}</tr>`).join('\n');
  return `<table id="${escapeHtml(t.id)}">\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}
