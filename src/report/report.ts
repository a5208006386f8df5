/**
 * `ganon report RUN... --out DIR`: every table and figure the given runs allow.
 *
 * collectReport(runs) reads the runs and builds the tables and figure specs (nothing written);
 * buildReport(options) also writes, under outDir:
 *   report.md, report.html (self-contained: figures inlined as PNG data URIs, CSS inline, no script),
 *   report.json (index: tables, figures, files, inputs, skipped),
 *   tables/<id>.csv and tables/<id>.parquet,
 *   figures/<id>.vl.json (Vega-Lite, schema-checked), figures/<id>.svg, figures/<id>.png.
 * What it cannot render is listed with the reason (report.md "Skipped", report.json, the result).
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../io/fs.js';
import { gitCommit, toolkitVersion } from '../util/provenance.js';
import { buildFigures, sampleSheetFigure, type ReportFigure, type SheetColumn, type VegaFigure } from './figures.js';
import { escapeHtml, inputsText, toCsv, toHtmlTable, toMarkdownTable, toParquet } from './formats.js';
import { renderSvg, svgToPng, validateSpec } from './render.js';
import { loadRuns, type RunData, type Skipped } from './runs.js';
import { buildTables, runLabels, formatCell, type ReportTable, type Section } from './tables.js';

export interface CollectedReport {
  runs: RunData[];
  tables: ReportTable[];
  figures: ReportFigure[];
  skipped: Skipped[];
}

const SECTIONS: { id: Section; title: string; needs: string }[] = [
  { id: 'identity', title: 'Identity (paper 4.1: Table 1)', needs: 'Table 1 and the identity-distance figure need an identity run (`ganon eval identity`)' },
  { id: 'emotion', title: 'Emotion preservation (paper 4.2: Table 2, Table 3, Figure 7)', needs: 'Tables 2 and 3 and Figure 7 need an emotion run (run.json kind "emotion")' },
  { id: 'emotion-training', title: 'Classifiers trained on anonymized data (paper 4.2: Table 4, Figure 10)', needs: 'Table 4 and the confusion matrices need an emotion-training run (run.json kind "emotion-training")' },
  { id: 'attributes', title: 'Facial attributes (paper 4.3: Table 5, Table 6, Figure 9)', needs: 'Tables 5 and 6 and Figure 9 need an attributes run (run.json kind "attributes")' },
  { id: 'training', title: 'Training', needs: 'training curves need a GAN run (steps.arrow) or a classifier run (epochs.arrow)' },
  { id: 'samples', title: 'Samples', needs: 'the sample sheet needs image folders (--samples NAME=DIR ...)' },
];

/** Reads the runs and builds every table and figure spec they allow; writes nothing. */
export function collectReport(runDirs: readonly string[]): CollectedReport {
  const { runs, skipped } = loadRuns(runDirs);
  const labels = runLabels(runs);
  const tables = buildTables(runs, labels);
  const { figures, skipped: figSkipped } = buildFigures(runs, labels);
  skipped.push(...figSkipped);
  for (const r of runs) if (r.kind === 'attributes' && !r.table5) skipped.push({ what: `Table 5 (${r.dir})`, reason: 'run.json table5 is null (no ground-truth attribute labels)' });
  return { runs, tables, figures, skipped };
}

/**
 * A sample sheet from image folders: the first folder's images (sorted, the first `count`) are the
 * rows; every other folder is matched to them by name (crop output `0_<name>`, the same path, or
 * the same stem with another extension; src/eval/match.ts). Unmatched cells stay blank.
 */
export async function sampleSheetFromDirs(columns: readonly { name: string; dir: string }[], count = 4): Promise<{ figure: VegaFigure; missing: string[] }> {
  const { listImages, matchMethod } = await import('../eval/match.js');
  const [first, ...rest] = columns;
  if (!first) throw new Error('sample sheet: name at least one folder');
  const rows = listImages(first.dir).slice(0, count);
  const missing: string[] = [];
  const cols: SheetColumn[] = [{ name: first.name, images: rows.map((r) => join(first.dir, r)) }];
  for (const c of rest) {
    const m = matchMethod(rows, listImages(c.dir));
    cols.push({ name: c.name, images: rows.map((r) => (m.matched.has(r) ? join(c.dir, m.matched.get(r)!) : null)) });
    for (const r of m.missing) missing.push(`${c.name}: ${r}`);
  }
  const figure = await sampleSheetFigure(cols, rows);
  figure.caption += ` Rows: the first ${rows.length} images of ${first.dir}; other columns matched by file name.`;
  return { figure, missing };
}

export interface ReportOptions {
  runs: readonly string[];
  outDir: string;
  title?: string;
  /** Image folders for the sample sheet: originals first, then landmarks and each method. */
  samples?: readonly { name: string; dir: string }[];
  sampleCount?: number;
  /** PNG zoom (default 2). */
  pngScale?: number;
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface WrittenTable { table: ReportTable; csv: string; parquet: string }
export interface WrittenFigure {
  figure: ReportFigure;
  png: string;
  spec: string | null;
  svg: string | null;
  /** Items per named mark in the rendered view. */
  marks: Record<string, number>;
  /** The figure's size in CSS pixels (the SVG's; the PNG has pngScale times as many), null for copied images. */
  width: number | null;
  warnings: string[];
}

export interface ReportResult {
  outDir: string;
  markdown: string;
  html: string;
  json: string;
  runs: RunData[];
  tables: WrittenTable[];
  figures: WrittenFigure[];
  skipped: Skipped[];
  /** Up to five lines for a terminal. */
  summary: string[];
}

/** Validates, renders and writes one Vega-Lite figure (figures/<id>.vl.json, .svg, .png). */
export async function writeVegaFigure(f: VegaFigure, dir: string, scale = 2): Promise<WrittenFigure> {
  const errors = validateSpec(f.spec);
  if (errors.length) throw new Error(`figure ${f.id}: spec does not match the Vega-Lite schema: ${errors.slice(0, 3).join('; ')}`);
  const r = await renderSvg(f.spec);
  const base = join(dir, f.id);
  await writeFileAtomic(`${base}.vl.json`, `${JSON.stringify(f.spec, null, 2)}\n`);
  await writeFileAtomic(`${base}.svg`, r.svg);
  await writeFileAtomic(`${base}.png`, svgToPng(r.svg, scale));
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(r.svg)?.[1] ?? NaN);
  return { figure: f, png: `${base}.png`, spec: `${base}.vl.json`, svg: `${base}.svg`, marks: r.marks, warnings: r.warnings, width: Number.isFinite(width) ? width : null };
}

/** Five lines at most: the headline number of each run, in paper order. */
export function summaryLines(c: { runs: readonly RunData[] }): string[] {
  const out: string[] = [];
  const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
  const order: RunData['kind'][] = ['identity', 'emotion', 'emotion-training', 'attributes', 'gan-training', 'classifier-training'];
  const runs = [...c.runs].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const r of runs) {
    if (r.kind === 'identity') out.push(`identity (${r.provenance.model?.name ?? '?'}${r.provenance.model?.proxy ? ', proxy' : ''}): mean cosine distance ${r.summary.map((s) => `${s.name} ${f(s.mean)}`).join(', ')}`);
    else if (r.kind === 'emotion') {
      const t = r.table2;
      const avg = (m: string) => {
        const v = t.classes.map((c) => t.mean[m]?.[c]).filter((x): x is number => typeof x === 'number');
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      };
      out.push(`emotion ${r.provenance.dataset ?? r.name} (${r.provenance.model?.name ?? '?'}${r.provenance.model?.proxy ? ', proxy' : ''}): mean |dp| over emotions ${t.methods.map((m) => `${m} ${f(avg(m))}`).join(', ')}`);
    } else if (r.kind === 'emotion-training') {
      out.push(`emotion training ${r.provenance.dataset ?? r.name}: accuracy ${r.methods.map((m) => `${m} ${f(typeof r.reports[m]?.accuracy === 'number' ? (r.reports[m]!.accuracy as number) : null, 2)}`).join(', ')}`);
    } else if (r.kind === 'attributes') {
      const mean = (m: string) => {
        const v = r.table6.filter((x) => x.method === m && x.rate !== null).map((x) => x.rate!);
        return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
      };
      out.push(`attributes ${r.provenance.dataset ?? r.name}: mean removal rate ${r.methods.map((m) => `${m} ${formatCell(mean(m), 'pct')}`).join(', ')}`);
    } else if (r.kind === 'gan-training') {
      const last = r.steps.at(-1);
      if (last) out.push(`training ${r.name}: ${r.steps.length} steps, last G ${f(last.G as number)} D ${f(last.D as number)}, ${f(last.imgPerSec as number, 2)} img/s`);
    } else if (r.kind === 'classifier-training') {
      const last = r.epochs.at(-1);
      if (last) out.push(`classifier ${r.name}: ${r.epochs.length} epochs, last val loss ${f(last.val_loss as number)}, val accuracy ${f(last.val_accuracy as number)}`);
    }
  }
  return out.slice(0, 5);
}

function sectionNotes(notes: string[]): string[] {
  return notes.map((n) => `> ${n}`);
}

/** Reads the runs, writes the whole report, returns what it wrote. */
export async function buildReport(opts: ReportOptions): Promise<ReportResult> {
  const outDir = resolve(opts.outDir);
  const scale = opts.pngScale ?? 2;
  const c = collectReport(opts.runs);
  if (opts.samples && opts.samples.length > 0) {
    try {
      const { figure, missing } = await sampleSheetFromDirs(opts.samples, opts.sampleCount ?? 4);
      c.figures.push(figure);
      for (const m of missing) c.skipped.push({ what: `sample sheet cell ${m}`, reason: 'no matching image' });
    } catch (e) {
      c.skipped.push({ what: 'sample sheet', reason: (e as Error).message });
    }
  }
  const tdir = join(outDir, 'tables');
  const fdir = join(outDir, 'figures');
  mkdirSync(tdir, { recursive: true });
  mkdirSync(fdir, { recursive: true });

  const tables: WrittenTable[] = [];
  for (const t of c.tables) {
    const csv = join(tdir, `${t.id}.csv`);
    const parquet = join(tdir, `${t.id}.parquet`);
    await writeFileAtomic(csv, toCsv(t));
    await writeFileAtomic(parquet, toParquet(t));
    tables.push({ table: t, csv, parquet });
  }
  const figures: WrittenFigure[] = [];
  for (const [i, f] of c.figures.entries()) {
    opts.onProgress?.(f.id, i, c.figures.length);
    try {
      if (f.type === 'vega') figures.push(await writeVegaFigure(f, fdir, scale));
      else {
        const png = join(fdir, `${f.id}.png`);
        copyFileSync(f.path, png);
        figures.push({ figure: f, png, spec: null, svg: null, marks: {}, warnings: [], width: null });
      }
    } catch (e) {
      c.skipped.push({ what: `figure ${f.id}`, reason: (e as Error).message });
    }
  }
  opts.onProgress?.('done', c.figures.length, c.figures.length);

  const title = opts.title ?? 'GANonymization report';
  const created = new Date().toISOString();
  const rel = (p: string) => relative(outDir, p).split('\\').join('/');
  const header = `Written by ganon ${toolkitVersion()} (commit ${gitCommit()}) on ${created}.`;
  const runList = c.runs.map((r) => `${r.kind}: ${r.dir}`);
  const present = new Set<Section>([...tables.map((t) => t.table.section), ...figures.map((f) => f.figure.section)]);
  const absent = SECTIONS.filter((s) => !present.has(s.id));
  const skipped: Skipped[] = [...c.skipped, ...absent.map((s) => ({ what: s.title, reason: `not in this report: ${s.needs}` }))];

  // ---- markdown
  const md: string[] = [`# ${title}`, '', header, '', '## Runs', '', ...(runList.length ? runList.map((r) => `- ${r}`) : ['- none recognised']), ''];
  for (const s of SECTIONS) {
    if (!present.has(s.id)) continue;
    md.push(`## ${s.title}`, '');
    for (const w of tables.filter((x) => x.table.section === s.id)) {
      const t = w.table;
      md.push(`### ${t.paper}: ${t.title}`, '', t.caption, '', toMarkdownTable(t), '', ...sectionNotes(t.notes), ...(t.notes.length ? [''] : []));
      md.push(`*${inputsText(t.inputs)}*`, '', `Data: [CSV](${rel(w.csv)}) · [Parquet](${rel(w.parquet)})`, '');
    }
    for (const w of figures.filter((x) => x.figure.section === s.id)) {
      const f = w.figure;
      md.push(`### ${f.paper}: ${f.title}`, '', `![${f.title}](${rel(w.png)})`, '', f.caption, '', ...sectionNotes(f.notes), ...(f.notes.length ? [''] : []));
      md.push(`*${inputsText(f.inputs)}*`, '');
      if (w.spec) md.push(`Files: [Vega-Lite](${rel(w.spec)}) · [SVG](${rel(w.svg!)}) · [PNG](${rel(w.png)})`, '');
    }
  }
  md.push('## Skipped', '', ...(skipped.length ? skipped.map((s) => `- ${s.what}: ${s.reason}`) : ['- nothing']), '');
  const markdown = `${md.join('\n')}\n`;

  // ---- html
  const css = 'body{font-family:"DejaVu Sans",Verdana,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.4}'
    + 'table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 7px}th{background:#f3f3f3}'
    + '.n{text-align:right;font-variant-numeric:tabular-nums}.t{text-align:left}.inputs{color:#555;font-size:12px;font-style:italic}'
    + '.note{border-left:3px solid #e45756;padding-left:8px;color:#444}img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:1em 0}'
    + 'figcaption{font-size:13px;color:#333}.files{font-size:12px}';
  const h: string[] = [`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${css}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`, `<p>${escapeHtml(header)}</p>`, '<h2>Runs</h2>', `<ul>${(runList.length ? runList : ['none recognised']).map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`];
  for (const s of SECTIONS) {
    if (!present.has(s.id)) continue;
    h.push(`<h2>${escapeHtml(s.title)}</h2>`);
    for (const w of tables.filter((x) => x.table.section === s.id)) {
      const t = w.table;
      h.push(`<h3>${escapeHtml(`${t.paper}: ${t.title}`)}</h3>`, `<p>${escapeHtml(t.caption)}</p>`, toHtmlTable(t));
      for (const n of t.notes) h.push(`<p class="note">${escapeHtml(n)}</p>`);
      h.push(`<p class="inputs">${escapeHtml(inputsText(t.inputs))}</p>`, `<p class="files">Data: <a href="${escapeHtml(rel(w.csv))}">CSV</a> · <a href="${escapeHtml(rel(w.parquet))}">Parquet</a></p>`);
    }
    for (const w of figures.filter((x) => x.figure.section === s.id)) {
      const f = w.figure;
      const b64 = readFileSync(w.png).toString('base64');
      h.push(`<h3>${escapeHtml(`${f.paper}: ${f.title}`)}</h3>`, `<figure><img alt="${escapeHtml(f.title)}"${w.width ? ` width="${Math.round(w.width)}"` : ''} src="data:image/png;base64,${b64}"><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`);
      for (const n of f.notes) h.push(`<p class="note">${escapeHtml(n)}</p>`);
      h.push(`<p class="inputs">${escapeHtml(inputsText(f.inputs))}</p>`);
      if (w.spec) h.push(`<p class="files">Files: <a href="${escapeHtml(rel(w.spec))}">Vega-Lite</a> · <a href="${escapeHtml(rel(w.svg!))}">SVG</a></p>`);
    }
  }
  h.push('<h2>Skipped</h2>', `<ul>${(skipped.length ? skipped.map((s) => `${s.what}: ${s.reason}`) : ['nothing']).map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>`, '</body></html>');
  const html = `${h.join('\n')}\n`;

  const summary = summaryLines(c);
  const index = {
    title, toolkitVersion: toolkitVersion(), gitCommit: gitCommit(), createdAt: created,
    runs: c.runs.map((r) => ({ kind: r.kind, dir: r.dir, inputs: r.provenance })),
    tables: tables.map((w) => ({ id: w.table.id, paper: w.table.paper, title: w.table.title, section: w.table.section, columns: w.table.columns.map((x) => x.name), rows: w.table.rows.length, csv: rel(w.csv), parquet: rel(w.parquet), inputs: w.table.inputs })),
    figures: figures.map((w) => ({ id: w.figure.id, paper: w.figure.paper, title: w.figure.title, section: w.figure.section, png: rel(w.png), spec: w.spec && rel(w.spec), svg: w.svg && rel(w.svg), marks: w.marks, inputs: w.figure.inputs })),
    skipped, summary,
  };
  const mdPath = join(outDir, 'report.md');
  const htmlPath = join(outDir, 'report.html');
  const jsonPath = join(outDir, 'report.json');
  await writeFileAtomic(mdPath, markdown);
  await writeFileAtomic(htmlPath, html);
  await writeFileAtomic(jsonPath, `${JSON.stringify(index, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return { outDir, markdown: mdPath, html: htmlPath, json: jsonPath, runs: c.runs, tables, figures, skipped, summary };
}
