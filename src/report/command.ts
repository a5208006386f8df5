/** `ganon report RUN... --out DIR`: yargs builder and handler (the library is src/report/report.ts). */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import { Progress } from '../util/progress.js';
// report.js and runs.js (vega, vega-lite, resvg, parquet-wasm) load in the handler, so other commands start fast.

export function reportCommand(y: Argv) {
  return y
    .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'run directories (identity, emotion, emotion-training, attributes, GAN or classifier training), or a folder of them' })
    .option('out', { type: 'string', demandOption: true, describe: 'report folder: report.md, report.html, report.json, tables/, figures/' })
    .option('title', { type: 'string', describe: 'report title' })
    .option('samples', { type: 'string', array: true, describe: 'sample sheet columns NAME=DIR (originals first, then landmarks and each method; matched by file name)' })
    .option('sample-count', { type: 'number', default: 4, describe: 'faces (rows) in the sample sheet' })
    .option('png-scale', { type: 'number', default: 2, describe: 'PNG zoom of the figures' })
    .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' });
}

export async function reportHandler(a: { runs: string[]; out: string; title?: string; samples?: string[]; sampleCount: number; pngScale: number; json: boolean }): Promise<void> {
  const samples = (a.samples ?? []).map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new InputError(`--samples '${s}': expected NAME=DIR`);
    return { name: s.slice(0, i), dir: s.slice(i + 1) };
  });
  const { loadRuns } = await import('./runs.js');
  const { buildReport } = await import('./report.js');
  const found = loadRuns(a.runs);
  if (found.runs.length === 0 && samples.length === 0) {
    throw new InputError(`no run found in ${a.runs.join(', ')}: ${found.skipped.map((s) => `${s.what}: ${s.reason}`).join('; ')}`);
  }
  let bar: Progress | null = null;
  const r = await buildReport({
    runs: a.runs, outDir: a.out, title: a.title, samples, sampleCount: a.sampleCount, pngScale: a.pngScale,
    onProgress: (_what, done, total) => {
      if (a.json || total === 0) return;
      bar ??= new Progress(total, 'figures');
      bar.update(done);
    },
  });
  (bar as Progress | null)?.done();
  if (a.json) {
    process.stdout.write(`${JSON.stringify({ report: r.markdown, html: r.html, json: r.json, tables: r.tables.map((t) => t.table.id), figures: r.figures.map((f) => f.figure.id), skipped: r.skipped, summary: r.summary }, null, 2)}\n`);
    return;
  }
  const lines = [
    ...r.summary,
    `report: ${r.markdown}`,
    `        ${r.html}`,
    `${r.tables.length} tables (CSV + Parquet), ${r.figures.length} figures (PNG; Vega-Lite + SVG for ${r.figures.filter((f) => f.spec).length}) in ${r.outDir}`,
  ];
  const skipped = r.skipped.filter((s) => !s.reason.startsWith('not in this report'));
  if (skipped.length) lines.push(`skipped ${skipped.length}: ${skipped.map((s) => `${s.what} (${s.reason})`).join('; ')}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
