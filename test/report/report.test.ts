/**
 * The report from synthetic runs (fixtures.ts): every table with the rows, columns and numbers the
 * runs hold; every figure's spec valid against the Vega-Lite schema, rendered to a non-empty PNG
 * with text drawn, and with the bars / cells / lines the data implies; Parquet round trip through
 * DuckDB; a self-contained HTML; what is missing listed with its reason.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReport, loadRun, loadRuns, readArrowRows, svgToPng, validateSpec, type ReportResult } from '../../src/report/index.js';
import { ATTRS, attrCounts, EMOTION, emotionMean, emotionP, EPOCHS, GAN_STEPS, IDENTITY_METHODS, TRAINING, writeSyntheticRuns, type SyntheticRuns } from './fixtures.js';

let runs: SyntheticRuns;
let report: ReportResult;
let out: string;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'ganon-report-'));
  runs = await writeSyntheticRuns(join(root, 'runs'));
  out = join(root, 'report');
  report = await buildReport({
    runs: [runs.identity, runs.emotion, runs.emotionTraining, runs.attributes, runs.gan, runs.classifier, runs.empty, runs.unknown],
    outDir: out,
    samples: [{ name: 'original', dir: runs.images.originals }, { name: 'landmarks', dir: runs.images.landmarks }, { name: 'GANonymization', dir: runs.images.method }],
    sampleCount: 3,
  });
});

/** Parses the report's CSV (no quoted commas in these fixtures' values except headers). */
function csv(id: string): { header: string[]; rows: string[][] } {
  const text = readFileSync(join(out, 'tables', `${id}.csv`), 'utf8').trimEnd().split('\n');
  const parse = (line: string) => {
    const cells: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (q) {
        if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') { cells.push(cur); cur = ''; } else cur += ch;
    }
    cells.push(cur);
    return cells;
  };
  const [h, ...r] = text.map(parse);
  return { header: h!, rows: r };
}

const col = (t: { header: string[]; rows: string[][] }, name: string) => {
  const j = t.header.indexOf(name);
  expect(j, `column '${name}' in ${t.header.join(', ')}`).toBeGreaterThanOrEqual(0);
  return t.rows.map((r) => r[j]!);
};
const nums = (v: string[]) => v.map((x) => (x === '' ? null : Number(x)));

function figure(id: string) {
  const f = report.figures.find((x) => x.figure.id === id);
  expect(f, `figure ${id} among ${report.figures.map((x) => x.figure.id).join(', ')}`).toBeDefined();
  return f!;
}

describe('loading runs', () => {
  it('detects each kind and lists what it cannot read, with the reason', () => {
    const { runs: loaded, skipped } = loadRuns([runs.identity, runs.emotion, runs.emotionTraining, runs.attributes, runs.gan, runs.classifier, runs.empty, runs.unknown, join(runs.root, 'nope')]);
    expect(loaded.map((r) => r.kind)).toEqual(['identity', 'emotion', 'emotion-training', 'attributes', 'gan-training', 'classifier-training']);
    expect(skipped.map((s) => s.what)).toEqual([runs.empty, runs.unknown, join(runs.root, 'nope')]);
    expect(skipped[0]!.reason).toMatch(/no run.json with a known kind/);
    expect(skipped[1]!.reason).toMatch(/kind 'fancy-new-eval'/);
    expect(skipped[2]!.reason).toBe('not a directory');
  });

  it('expands a folder of runs (the demo output) one level', () => {
    const { runs: loaded } = loadRuns([runs.root]);
    expect(loaded.map((r) => r.kind).sort()).toEqual(['attributes', 'classifier-training', 'emotion', 'emotion-training', 'gan-training', 'identity']);
  });

  it('carries the inputs: dataset, split, N, model with proxy flag and sha256, toolkit version', () => {
    const [e] = loadRun(runs.emotion).runs;
    expect(e!.provenance).toMatchObject({ kind: 'emotion', dataset: 'CK+', split: 'val', n: 68, toolkitVersion: '0.1.0', gitCommit: 'abc1234', model: { role: 'classifier', name: 'proxy-emotion-fer2013', proxy: true, sha256: 'a'.repeat(64) } });
    const [i] = loadRun(runs.identity).runs;
    expect(i!.provenance).toMatchObject({ kind: 'identity', n: 8, model: { role: 'embedder', name: 'proxy-faceres', proxy: true } });
  });

  it('survives a broken run.json and runs without their Arrow files', () => {
    const root = mkdtempSync(join(tmpdir(), 'ganon-report-bad-'));
    const broken = join(root, 'broken');
    cpSync(runs.emotion, broken, { recursive: true });
    writeFileSync(join(broken, 'run.json'), '{ not json');
    const noArrow = join(root, 'identity-no-arrow');
    cpSync(runs.identity, noArrow, { recursive: true });
    rmSync(join(noArrow, 'identity.arrow'));
    const r = loadRuns([broken, noArrow]);
    expect(r.skipped.map((s) => s.what)).toEqual([`${broken}/run.json`]);
    expect(r.skipped[0]!.reason).toMatch(/unreadable/);
    expect(r.runs.map((x) => x.kind)).toEqual(['identity']);
    expect(r.runs[0]!.kind === 'identity' && r.runs[0]!.rows).toBe(null);
  });
});

describe('tables', () => {
  it('writes every paper table, each as CSV and Parquet', () => {
    expect(report.tables.map((t) => t.table.id)).toEqual([
      'table1-identity', 'table1-stats-identity', 'table2-ckplus', 'table3-ckplus', 'table3-shapiro-ckplus', 'table4-faces', 'table5-celeba', 'table6-celeba',
    ]);
    for (const t of report.tables) {
      expect(existsSync(t.csv)).toBe(true);
      expect(existsSync(t.parquet)).toBe(true);
    }
  });

  it('Table 1: one row per method with the numbers of run.json', () => {
    const t = csv('table1-identity');
    expect(t.header).toEqual(['Method', 'mean cosine distance (proxy)', 'median', '95% CI low', '95% CI high', 'share > 0.3', 'rank-1', 'rank-5', 'N']);
    expect(col(t, 'Method')).toEqual(IDENTITY_METHODS);
    const json = JSON.parse(readFileSync(join(runs.identity, 'run.json'), 'utf8')) as { summary: { mean: number; median: number; ci95: number[]; shareAbove: number; rank1: number; n: number }[] };
    expect(nums(col(t, 'mean cosine distance (proxy)'))).toEqual(json.summary.map((s) => s.mean));
    expect(nums(col(t, 'median'))).toEqual(json.summary.map((s) => s.median));
    expect(nums(col(t, '95% CI high'))).toEqual(json.summary.map((s) => s.ci95[1]));
    expect(nums(col(t, 'share > 0.3'))).toEqual(json.summary.map((s) => s.shareAbove));
    expect(nums(col(t, 'N'))).toEqual([8, 8, 7]);
    // and the mean really is the mean of identity.arrow's ok distances
    const rows = readArrowRows(join(runs.identity, 'identity.arrow')).filter((r) => r.method === 'blur9' && r.status === 'ok');
    expect(Number(col(t, 'mean cosine distance (proxy)')[2])).toBeCloseTo(rows.reduce((s, r) => s + (r.distance as number), 0) / rows.length, 12);
  });

  it('Table 1 statistics: reference vs each method, raw and Bonferroni p with stars', () => {
    const t = csv('table1-stats-identity');
    expect(col(t, 'Method')).toEqual(['pixel8', 'blur9']);
    expect(col(t, 'Reference')).toEqual(['GANonymization', 'GANonymization']);
    const p = nums(col(t, 'p')) as number[];
    const pb = nums(col(t, 'p (Bonferroni)')) as number[];
    pb.forEach((v, i) => expect(v).toBeCloseTo(Math.min(1, 2 * p[i]!), 12));
    expect(col(t, 'stars')).toEqual(pb.map((v) => (v < 0.001 ? '***' : v < 0.01 ? '**' : v < 0.05 ? '*' : '')));
    expect(nums(col(t, 'N'))).toEqual([8, 7]);
  });

  it('Table 2: emotions x methods of mean |dp|, a missing value stays empty', () => {
    const t = csv('table2-ckplus');
    expect(t.header).toEqual(['Emotion', ...EMOTION.methods]);
    expect(col(t, 'Emotion')).toEqual(EMOTION.classes);
    EMOTION.methods.forEach((m, mi) => expect(nums(col(t, m))).toEqual(EMOTION.classes.map((_c, ci) => emotionMean(mi, ci))));
    expect(col(t, 'CIAGAN')[3]).toBe('');
  });

  it('Table 3: p, stars, Bonferroni p, Z, r per compared method, one N column', () => {
    const t = csv('table3-ckplus');
    const per = ['p', 'stars', 'p (Bonferroni)', 'stars (Bonferroni)', 'Z', 'r'];
    expect(t.header).toEqual(['Emotion', ...per.map((c) => `DeepPrivacy2 ${c}`), ...per.map((c) => `CIAGAN ${c}`), 'N']);
    expect(col(t, 'Emotion')).toEqual(EMOTION.classes);
    expect(nums(col(t, 'DeepPrivacy2 p'))).toEqual(EMOTION.classes.map((_c, ci) => emotionP(1, ci)));
    expect(nums(col(t, 'CIAGAN p'))).toEqual(EMOTION.classes.map((_c, ci) => emotionP(2, ci)));
    expect(nums(col(t, 'CIAGAN p (Bonferroni)'))).toEqual(EMOTION.classes.map((_c, ci) => Math.min(1, emotionP(2, ci) * 14)));
    expect(col(t, 'DeepPrivacy2 stars')).toEqual(['***', '**', '*', '', '***', '', '*']);
    expect(nums(col(t, 'N'))).toEqual(EMOTION.classes.map(() => 68));
    expect(nums(col(t, 'CIAGAN Z'))[0]).toBe(-2);
    const md = readFileSync(report.markdown, 'utf8');
    expect(md).toContain('| neutral | <0.001 | *** | 0.006 | ** |');
  });

  it('Table 4: classification reports side by side, numbers as computed by hand', () => {
    const t = csv('table4-faces');
    expect(t.header).toEqual(['Emotion', 'Original P', 'Original R', 'Original F1', 'GANonymization P', 'GANonymization R', 'GANonymization F1', 'N']);
    expect(col(t, 'Emotion')).toEqual([...TRAINING.classes, 'accuracy', 'macro avg', 'weighted avg']);
    expect(nums(col(t, 'Original F1'))).toEqual([0.9, 0.9, 0.9, 0.9, 0.9, 0.9].map((v) => expect.closeTo(v, 12)));
    // GANonymization: happy never predicted (P 0 by zero_division), neutral P 10/20 R 1, sad perfect; accuracy 20/30
    expect(nums(col(t, 'GANonymization P')).slice(0, 3)).toEqual([0, 0.5, 1]);
    expect(nums(col(t, 'GANonymization R')).slice(0, 3)).toEqual([0, 1, 1]);
    expect(Number(col(t, 'GANonymization F1')[3])).toBeCloseTo(20 / 30, 12);
    expect(col(t, 'GANonymization P')[3]).toBe('');
    expect(nums(col(t, 'N'))).toEqual([10, 10, 10, 30, 30, 30]);
  });

  it('Table 5: the multilabel report, per attribute and the four averages', () => {
    const t = csv('table5-celeba');
    expect(t.header).toEqual(['Attribute', 'P', 'R', 'F1', 'N']);
    expect(col(t, 'Attribute')).toEqual([...ATTRS.attributes, 'micro avg', 'macro avg', 'weighted avg', 'samples avg']);
    // Bald: 4 positives, one flipped to 0 -> P 1, R 3/4; Eyeglasses: one false positive -> P 4/5, R 1
    expect(nums(col(t, 'P')).slice(0, 2)).toEqual([1, 0.8]);
    expect(nums(col(t, 'R')).slice(0, 2)).toEqual([0.75, 1]);
    expect(nums(col(t, 'N')).slice(0, 5)).toEqual([4, 4, 4, 4, 4]);
  });

  it('Table 6: removal rate per attribute and method, sorted by the first method', () => {
    const t = csv('table6-celeba');
    expect(t.header).toEqual(['Attribute', 'GANonymization removed', 'GANonymization N', 'DeepPrivacy2 removed', 'DeepPrivacy2 N']);
    expect(col(t, 'Attribute')).toEqual(['Bald', 'Wearing Hat', 'Eyeglasses', 'Smiling', 'Young']);
    const order = [0, 4, 1, 2, 3];
    const rate = (mi: number, ai: number) => {
      const c = attrCounts(mi, ai);
      return c.kept + c.removed === 0 ? null : c.removed / (c.kept + c.removed);
    };
    expect(nums(col(t, 'GANonymization removed'))).toEqual(order.map((ai) => rate(0, ai)));
    expect(nums(col(t, 'DeepPrivacy2 removed'))).toEqual(order.map((ai) => rate(1, ai)));
    expect(nums(col(t, 'DeepPrivacy2 N'))).toEqual(order.map((ai) => attrCounts(1, ai).kept + attrCounts(1, ai).removed));
  });

  it('every table and figure in report.md states its inputs', () => {
    const md = readFileSync(report.markdown, 'utf8');
    for (const t of report.tables) expect(md).toContain(`### ${t.table.paper}: ${t.table.title}`);
    for (const f of report.figures) expect(md).toContain(`### ${f.figure.paper}: ${f.figure.title}`);
    const inputs = md.split('\n').filter((l) => l.startsWith('*Inputs:'));
    expect(inputs).toHaveLength(report.tables.length + report.figures.length);
    expect(md).toContain('dataset CK+; split val; N 68 image pairs; classifier proxy-emotion-fer2013 (proxy, not the paper\'s model), weights sha256 ' + 'a'.repeat(64) + '; ganon 0.1.0 (commit abc1234)');
    expect(md).toContain('embedder proxy-faceres (proxy, not the paper\'s model), weights sha256 not recorded');
  });
});

describe('Parquet', () => {
  it('round-trips every table through DuckDB: names, types, numbers, nulls, metadata', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    for (const { table, parquet } of report.tables) {
      const res = await con.runAndReadAll(`SELECT * FROM read_parquet('${parquet.replace(/'/g, "''")}')`);
      expect(res.columnNames()).toEqual(table.columns.map((c) => c.name));
      expect(res.columnTypes().map(String)).toEqual(table.columns.map((c) => ({ string: 'VARCHAR', float64: 'DOUBLE', int32: 'INTEGER' })[c.type]));
      const got = res.getRows().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
      const want = table.rows.map((r) => r.map((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
      expect(got, table.id).toEqual(want);
      const meta = await con.runAndReadAll(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${parquet}')`);
      const kv = Object.fromEntries(meta.getRows().map((r) => [String(r[0]), String(r[1])]));
      expect(kv['ganon.title']).toBe(table.title);
      expect(JSON.parse(kv['ganon.inputs']!)).toEqual(JSON.parse(JSON.stringify(table.inputs)));
    }
    con.closeSync();
  });
});

describe('figures', () => {
  it('writes the figures the runs imply, and the skipped ones with reasons', () => {
    expect(report.figures.map((f) => f.figure.id)).toEqual([
      'identity-distances-identity', 'figure7-ckplus', 'confusion-faces', 'figure9-celeba', 'training-gan-run', 'training-samples-gan-run', 'classifier-training-classifier-run', 'sample-sheet',
    ]);
    const md = readFileSync(report.markdown, 'utf8');
    const skipped = md.slice(md.indexOf('## Skipped'));
    expect(skipped).toContain(`${runs.empty}: no run.json with a known kind`);
    expect(skipped).toContain(`${runs.unknown}: run.json kind 'fancy-new-eval'`);
    expect(skipped).toContain('sample sheet cell GANonymization: c.png: no matching image');
  });

  it('every spec is valid Vega-Lite (the schema in the vega-lite package) and renders to a non-empty PNG', async () => {
    for (const f of report.figures) {
      if (f.spec) expect(validateSpec(JSON.parse(readFileSync(f.spec, 'utf8'))), f.figure.id).toEqual([]);
      const img = sharp(f.png);
      const meta = await img.metadata();
      expect(meta.format).toBe('png');
      if (f.figure.type === 'vega') {
        expect(meta.width!).toBeGreaterThan(300);
        expect(meta.height!).toBeGreaterThan(200);
        const stats = await img.stats();
        expect(stats.channels.some((c) => c.stdev > 10), f.figure.id).toBe(true);
        expect(f.warnings, f.figure.id).toEqual([]);
      }
    }
  });

  it('a spec the schema rejects is reported, not written', () => {
    expect(validateSpec({ mark: 'bar', encoding: { x: { field: 'a', type: 'nominal' } }, data: { values: [] } })).toEqual([]);
    expect(validateSpec({ mark: 'barz', data: { values: [] } }).length).toBeGreaterThan(0);
    expect(validateSpec({ mark: { type: 'bar', name: 'x' }, data: { values: [] } }).length).toBeGreaterThan(0);
  });

  it('SVGs have the text a reader needs: titles, axis titles, legends, labels', () => {
    const svg = (id: string) => readFileSync(figure(id).svg!, 'utf8');
    const texts = (s: string) => [...s.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'"));
    const expectTexts = (id: string, want: string[]) => {
      const got = texts(svg(id));
      for (const w of want) expect(got, `${id}: '${w}'`).toContain(w);
    };
    expectTexts('figure7-ckplus', ['Mean |Δp| per emotion, CK+', 'mean |Δp| (lower is better)', 'emotion', 'method', ...EMOTION.methods, ...EMOTION.classes]);
    expectTexts('figure9-celeba', [...ATTRS.methods, ...ATTRS.attributes, 'removed (share of images with it)']);
    expectTexts('identity-distances-identity', [...IDENTITY_METHODS, 'threshold 0.30', 'faces', 'cosine distance to the original (proxy-faceres, proxy)']);
    expectTexts('confusion-faces', [...TRAINING.methods, ...TRAINING.classes, 'predicted', 'true', '0.90', '1.00', 'share of row']);
    expectTexts('training-gan-run', ['G (total)', 'G adversarial', 'G L1', 'D', 'img/s', 'step']);
    expectTexts('classifier-training-classifier-run', ['loss', 'train loss', 'val loss', 'val accuracy', 'learning rate', 'epoch']);
    expectTexts('sample-sheet', ['original', 'landmarks', 'GANonymization', 'a.png', 'b.png', 'c.png']);
    // the inputs line is on every figure
    for (const f of report.figures) if (f.svg && f.figure.inputs) expect(texts(readFileSync(f.svg, 'utf8')).some((t) => t.includes(`ganon 0.1.0`) || t.includes('toolkit version not recorded')), f.figure.id).toBe(true);
  });

  it('the PNG really has the text drawn (a font is present): removing the text changes the pixels', async () => {
    const s = readFileSync(figure('figure7-ckplus').svg!, 'utf8');
    const noText = s.replace(/<text[^>]*>[^<]*<\/text>/g, '');
    expect(noText).not.toEqual(s);
    const a = await sharp(Buffer.from(svgToPng(s, 1))).raw().toBuffer();
    const b = await sharp(Buffer.from(svgToPng(noText, 1))).raw().toBuffer();
    expect(a.length).toBe(b.length);
    let differ = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differ++;
    expect(differ).toBeGreaterThan(2000);
    // and a lone word draws dark pixels
    const word = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><text x="5" y="22" font-family="DejaVu Sans" font-size="20">Figure</text></svg>', 1);
    const st = await sharp(Buffer.from(word)).stats();
    expect(st.channels[0]!.min).toBeLessThan(50);
  });

  it('has the marks the data implies', () => {
    // Figure 7: emotions x methods minus the one missing value
    expect(figure('figure7-ckplus').marks).toEqual({ bars_marks: EMOTION.classes.length * EMOTION.methods.length - 1 });
    // Figure 9: one bar per attribute with a rate, per panel
    expect(figure('figure9-celeba').marks).toEqual({ panel0_bars_marks: 5, panel1_bars_marks: 4 });
    // identity: non-empty 0.05 bins per method, computed here from identity.arrow; one threshold rule and label per panel
    const rows = readArrowRows(join(runs.identity, 'identity.arrow')).filter((r) => r.status === 'ok');
    const bins = IDENTITY_METHODS.map((m) => new Set(rows.filter((r) => r.method === m).map((r) => Math.floor((r.distance as number) / 0.05))).size);
    expect(figure('identity-distances-identity').marks).toEqual({ bins_marks: bins.reduce((a, b) => a + b, 0), threshold_marks: 3, threshold_label_marks: 3 });
    // confusion: methods x classes x classes cells, including those confusion.arrow leaves out (zeros)
    const k = TRAINING.classes.length;
    expect(readArrowRows(join(runs.emotionTraining, 'confusion.arrow')).length).toBeLessThan(TRAINING.methods.length * k * k);
    expect(figure('confusion-faces').marks).toEqual({ cells_marks: TRAINING.methods.length * k * k, cell_labels_marks: TRAINING.methods.length * k * k });
    // GAN training: one line per loss and img/s, a point per logged step
    const gan = figure('training-gan-run').marks;
    for (const l of ['G', 'G_adv', 'G_L1', 'D', 'imgPerSec']) expect(gan[`line_${l}_marks`], l).toBe(1);
    expect(Object.entries(gan).filter(([n]) => !n.startsWith('line_')).map(([, v]) => v)).toEqual([GAN_STEPS, GAN_STEPS, GAN_STEPS, GAN_STEPS, GAN_STEPS]);
    // classifier: train + val loss lines, accuracy, lr
    const cls = figure('classifier-training-classifier-run').marks;
    expect([cls.loss_lines_marks, cls.accuracy_line_marks, cls.lr_line_marks]).toEqual([2, 1, 1]);
    expect(cls.concat_0_layer_1_marks).toBe(2 * EPOCHS);
    // sample sheet: 3 originals + 3 landmarks + 2 method crops (c.png has none)
    expect(figure('sample-sheet').marks).toEqual({ images_marks: 8 });
  });

  it('the rendered SVG has as many bars as the scenegraph', () => {
    const s = readFileSync(figure('figure7-ckplus').svg!, 'utf8');
    const start = s.indexOf('class="mark-rect role-mark bars_marks"');
    const group = s.slice(start, s.indexOf('</g>', start));
    expect(group.match(/<path /g)).toHaveLength(20);
  });
});

describe('report files', () => {
  it('report.html is self-contained: every figure inlined, no script, no remote resource', () => {
    const html = readFileSync(report.html, 'utf8');
    const imgs = [...html.matchAll(/<img [^>]*src="([^"]*)"/g)].map((m) => m[1]!);
    expect(imgs).toHaveLength(report.figures.length);
    for (const src of imgs) expect(src.startsWith('data:image/png;base64,')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<iframe|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    for (const t of report.tables) expect(html).toContain(`<table id="${t.table.id}">`);
    expect(html).toContain('Inputs: run ');
  });

  it('report.json indexes the tables, figures, files and what was skipped', () => {
    const j = JSON.parse(readFileSync(report.json, 'utf8')) as { tables: { id: string; csv: string }[]; figures: { id: string; marks: Record<string, number> }[]; skipped: { what: string }[]; summary: string[] };
    expect(j.tables.map((t) => t.id)).toEqual(report.tables.map((t) => t.table.id));
    for (const t of j.tables) expect(existsSync(join(out, t.csv))).toBe(true);
    expect(j.figures.find((f) => f.id === 'figure7-ckplus')!.marks).toEqual({ bars_marks: 20 });
    expect(j.skipped.map((s) => s.what)).toContain(runs.empty);
    expect(j.summary.length).toBeGreaterThan(0);
    expect(j.summary.length).toBeLessThanOrEqual(5);
    expect(j.summary[0]).toMatch(/^identity \(proxy-faceres, proxy\): mean cosine distance GANonymization 0\.\d{3}/);
  });

  it('a report of one kind lists the paper sections it could not fill', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ganon-report-one-'));
    const r = await buildReport({ runs: [runs.gan], outDir: dir });
    expect(r.tables).toEqual([]);
    expect(r.figures.map((f) => f.figure.id)).toEqual(['training-gan-run', 'training-samples-gan-run']);
    const md = readFileSync(r.markdown, 'utf8');
    expect(md).toContain('- Identity (paper 4.1: Table 1): not in this report: Table 1 and the identity-distance figure need an identity run');
    expect(md).toContain('- Facial attributes (paper 4.3: Table 5, Table 6, Figure 9): not in this report:');
  });
});
