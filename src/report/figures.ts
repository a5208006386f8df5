/**
 * The paper's figures as Vega-Lite specs (data inline, so each *.vl.json stands alone and
 * Jupyter renders it as is):
 * - Figure 7: grouped bars of mean |dp| per emotion, one colour per method (one per emotion run);
 * - Figure 9: removal rate per attribute, sorted, one panel per method;
 * - identity-distance histograms per method with the threshold line (0.30 unless the run set one);
 * - confusion-matrix heatmaps (Figure 10), one panel per method;
 * - GAN training losses and img/s per step; classifier training loss / accuracy / lr per epoch;
 * - a sample sheet (original / landmarks / each method) from image files.
 * The GAN run's newest sample grid is an 'image' figure (a PNG copied as is).
 *
 * Every mark carries a `name`, so a rendered view can be checked for the number of bars / cells /
 * lines the data implies (render.ts markCounts).
 */
import { basename } from 'node:path';
import sharp from 'sharp';
import type { AttributesRunData, ClassifierTrainingRunData, EmotionRunData, EmotionTrainingRunData, GanTrainingRunData, IdentityRunData, Provenance, RunData, Rows } from './runs.js';
import { runLabels, type Section } from './tables.js';

export type VlSpec = Record<string, unknown>;

export interface VegaFigure {
  type: 'vega';
  /** File stem: figures/<id>.vl.json, .svg, .png. */
  id: string;
  paper: string;
  title: string;
  caption: string;
  section: Section;
  spec: VlSpec;
  inputs: Provenance | null;
  notes: string[];
}

export interface ImageFigure {
  type: 'image';
  id: string;
  paper: string;
  title: string;
  caption: string;
  section: Section;
  /** A PNG on disk, copied into figures/<id>.png. */
  path: string;
  inputs: Provenance | null;
  notes: string[];
}

export type ReportFigure = VegaFigure | ImageFigure;

/** The font the specs ask for; render.ts hands resvg the DejaVu Sans file from the dejavu-fonts-ttf package. */
export const FONT = 'DejaVu Sans';

export const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start', subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 220 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
} as const;

/** Paper-like method colours where the name is known, else Tableau 10. */
export const TABLEAU = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

function spec(title: string, subtitle: string | string[], body: VlSpec): VlSpec {
  // no $schema URL: the specs are checked against the schema file in the vega-lite package (render.ts),
  // and src/ holds no URL (test/cli/no-network.test.ts)
  return { title: { text: title, subtitle }, config: CONFIG, ...body };
}

/** One line on what the numbers rest on, for a figure's subtitle. */
export function inputsLine(p: Provenance | null): string {
  if (!p) return '';
  const parts: string[] = [];
  if (p.dataset) parts.push(`dataset ${p.dataset}`);
  if (p.split) parts.push(`split ${p.split}`);
  if (p.n !== null) parts.push(`N ${p.n} ${p.nLabel}`);
  if (p.model) parts.push(`${p.model.role} ${p.model.name}${p.model.proxy ? ' (proxy)' : ''}`);
  parts.push(p.toolkitVersion ? `ganon ${p.toolkitVersion}` : 'toolkit version not recorded');
  return parts.join(' · ');
}

// ------------------------------------------------------------------------------------------
// Figure 7
// ------------------------------------------------------------------------------------------

export function figure7(run: EmotionRunData, label: string): VegaFigure {
  const t = run.table2;
  const values = t.classes.flatMap((c) => t.methods.map((m) => ({ emotion: c, method: m, value: t.mean[m]?.[c] ?? null, n: t.n[m] ?? null })))
    .filter((v) => typeof v.value === 'number' && Number.isFinite(v.value));
  const ds = run.provenance.dataset ?? run.name;
  const width = Math.max(320, t.classes.length * (t.methods.length * 16 + 14));
  return {
    type: 'vega', id: `figure7-${label}`, paper: 'Figure 7', section: 'emotion',
    title: `Mean |dp| per emotion and method, ${ds}`,
    caption: 'Mean distance between the class probabilities on the original and the anonymized image, per emotion, one bar per method (lower is better).',
    inputs: run.provenance, notes: [],
    spec: spec(`Mean |Δp| per emotion, ${ds}`, inputsLine(run.provenance), {
      data: { values },
      width, height: 240,
      name: 'bars', mark: { type: 'bar' },
      encoding: {
        x: { field: 'emotion', type: 'nominal', sort: t.classes, title: 'emotion', axis: { labelAngle: -30 } },
        xOffset: { field: 'method', type: 'nominal', sort: t.methods },
        y: { field: 'value', type: 'quantitative', title: 'mean |Δp| (lower is better)' },
        color: { field: 'method', type: 'nominal', sort: t.methods, scale: { range: TABLEAU }, legend: { title: 'method', orient: 'right' } },
        tooltip: [{ field: 'emotion' }, { field: 'method' }, { field: 'value', format: '.4f' }, { field: 'n', title: 'N' }],
      },
    }),
  };
}

// ------------------------------------------------------------------------------------------
// Figure 9
// ------------------------------------------------------------------------------------------

export function figure9(run: AttributesRunData, label: string): VegaFigure {
  const methods = run.methods.filter((m) => run.table6.some((r) => r.method === m));
  const ds = run.provenance.dataset ?? run.name;
  return {
    type: 'vega', id: `figure9-${label}`, paper: 'Figure 9', section: 'attributes',
    title: `Attributes removed per method, ${ds}`,
    caption: 'Share of the images with an attribute (classifier probability > 0.5 on the original) where the anonymized image no longer has it; sorted per method, one panel per method.',
    inputs: run.provenance, notes: [],
    spec: spec(`Attributes removed, ${ds}`, inputsLine(run.provenance), {
      columns: Math.min(2, methods.length),
      concat: methods.map((m, i) => ({
        title: m,
        data: { values: run.table6.filter((r) => r.method === m && r.rate !== null).map((r) => ({ attribute: r.attribute, method: m, rate: r.rate, removed: r.removed, n: r.kept + r.removed })) },
        width: 240,
        height: { step: 14 },
        name: `panel${i}_bars`, mark: { type: 'bar', color: TABLEAU[i % TABLEAU.length] },
        encoding: {
          y: { field: 'attribute', type: 'nominal', sort: '-x', title: null },
          x: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: 'removed (share of images with it)' },
          tooltip: [{ field: 'attribute' }, { field: 'rate', format: '.1%' }, { field: 'removed' }, { field: 'n', title: 'N' }],
        },
      })),
    }),
  };
}

// ------------------------------------------------------------------------------------------
// Identity distances
// ------------------------------------------------------------------------------------------

export const IDENTITY_BIN = 0.05;

/** Histogram of `values` on [0, hi) in bins of `step` (the last bin closed): non-empty bins only. */
export function histogram(values: readonly number[], step: number, hi: number): { start: number; end: number; count: number }[] {
  const nb = Math.max(1, Math.round(hi / step));
  const counts = new Array<number>(nb).fill(0);
  for (const v of values) counts[Math.min(nb - 1, Math.max(0, Math.floor(v / step + 1e-9)))]! += 1;
  return counts.map((count, i) => ({ start: +(i * step).toFixed(6), end: +((i + 1) * step).toFixed(6), count })).filter((b) => b.count > 0);
}

/** Distances of the faces scored 'ok', per method in run order. */
export function identityDistances(rows: Rows, methods: readonly string[]): Map<string, number[]> {
  const by = new Map<string, number[]>(methods.map((m) => [m, []]));
  for (const r of rows) {
    if (r.status !== 'ok' || typeof r.distance !== 'number' || !Number.isFinite(r.distance)) continue;
    const m = String(r.method);
    if (!by.has(m)) by.set(m, []);
    by.get(m)!.push(r.distance);
  }
  return by;
}

export function identityFigure(run: IdentityRunData, label: string): VegaFigure | null {
  if (!run.rows) return null;
  const threshold = run.threshold ?? 0.3;
  const by = identityDistances(run.rows, run.summary.map((s) => s.name));
  const all = [...by.values()].flat();
  if (all.length === 0) return null;
  const hi = Math.max(1, Math.ceil(Math.max(...all) / IDENTITY_BIN - 1e-9) * IDENTITY_BIN);
  const methods = [...by.keys()].filter((m) => by.get(m)!.length > 0);
  const values = methods.flatMap((m) => histogram(by.get(m)!, IDENTITY_BIN, hi).map((b) => ({ method: m, start: b.start, end: b.end, count: b.count, threshold })));
  const proxy = run.provenance.model?.proxy === true;
  const thrText = `threshold ${threshold.toFixed(2)}${run.threshold === null ? ' (paper, Facenet512)' : ''}`;
  const notes = proxy ? ['Proxy embedder: the 0.30 line is the paper\'s Facenet512 threshold, not calibrated for the proxy.'] : [];
  return {
    type: 'vega', id: `identity-distances-${label}`, paper: 'Identity distances', section: 'identity',
    title: `Cosine distance to the original, per method${proxy ? ' (proxy embedder)' : ''}`,
    caption: `Histogram (bins of ${IDENTITY_BIN}) of the cosine distance between each original face and its anonymized version; the dashed line is the ${thrText} above which re-identification is taken to fail.`,
    inputs: run.provenance, notes,
    spec: spec(`Identity distance per method${proxy ? ' (proxy embedder)' : ''}`, inputsLine(run.provenance), {
      data: { values },
      facet: { row: { field: 'method', type: 'nominal', sort: methods, title: null, header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelAlign: 'left', labelFontWeight: 'bold', labelPadding: 4 } } },
      spec: {
        width: 420, height: 70,
        layer: [
          {
            name: 'bins', mark: { type: 'bar', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5 },
            encoding: {
              x: { field: 'start', type: 'quantitative', scale: { domain: [0, hi] }, title: `cosine distance to the original (${run.provenance.model?.name ?? 'embedder'}${proxy ? ', proxy' : ''})` },
              x2: { field: 'end' },
              y: { field: 'count', type: 'quantitative', title: 'faces', scale: { zero: true }, axis: { tickMinStep: 1, format: 'd' } },
              y2: { datum: 0 },
              tooltip: [{ field: 'method' }, { field: 'start', title: 'from' }, { field: 'end', title: 'to' }, { field: 'count' }],
            },
          },
          {
            name: 'threshold', mark: { type: 'rule', color: '#d62728', strokeDash: [5, 3], strokeWidth: 1.5 },
            encoding: { x: { aggregate: 'max', field: 'threshold', type: 'quantitative' } },
          },
          {
            name: 'threshold_label', mark: { type: 'text', color: '#d62728', align: 'left', baseline: 'top', dx: 4, dy: 2, fontSize: 10 },
            encoding: { x: { aggregate: 'max', field: 'threshold', type: 'quantitative' }, y: { value: 0 }, text: { value: thrText } },
          },
        ],
      },
      resolve: { scale: { y: 'independent' } },
    }),
  };
}

// ------------------------------------------------------------------------------------------
// Confusion matrices
// ------------------------------------------------------------------------------------------

/** The full methods x classes x classes grid, zeros where confusion.arrow has no row. */
export function confusionGrid(rows: Rows, methods: readonly string[], classes: readonly string[]): { method: string; true: string; pred: string; count: number; rate: number }[] {
  const key = (m: string, t: string, p: string) => `${m}\u0000${t}\u0000${p}`;
  const got = new Map<string, { count: number; rate: number }>();
  for (const r of rows) got.set(key(String(r.method), String(r.true), String(r.pred)), { count: Number(r.count ?? 0), rate: Number(r.rate ?? 0) });
  const cls = classes.length ? [...classes] : [...new Set(rows.flatMap((r) => [String(r.true), String(r.pred)]))];
  return methods.flatMap((m) => cls.flatMap((t) => cls.map((p) => ({ method: m, true: t, pred: p, ...(got.get(key(m, t, p)) ?? { count: 0, rate: 0 }) }))));
}

export function confusionFigure(run: EmotionTrainingRunData, label: string): VegaFigure | null {
  if (!run.confusion) return null;
  const methods = run.methods.filter((m) => run.confusion!.some((r) => r.method === m));
  const classes = run.classes.length ? run.classes : [...new Set(run.confusion.map((r) => String(r.true)))];
  const values = confusionGrid(run.confusion, methods, classes);
  const step = classes.length <= 8 ? 34 : classes.length <= 16 ? 22 : 12;
  return {
    type: 'vega', id: `confusion-${label}`, paper: 'Figure 10', section: 'emotion-training',
    title: `Confusion matrices of the classifiers trained on each method's data, ${run.provenance.dataset ?? run.name}`,
    caption: 'Rows: true class; columns: predicted class; colour and number: the share of the true class (rows sum to 1). One panel per training data.',
    inputs: run.provenance, notes: [],
    spec: spec(`Confusion matrices, ${run.provenance.dataset ?? run.name}`, inputsLine(run.provenance), {
      data: { values },
      columns: Math.min(methods.length, 2),
      facet: { field: 'method', type: 'nominal', sort: methods, title: null, header: { labelFontWeight: 'bold' } },
      spec: {
        width: { step }, height: { step },
        layer: [
          {
            name: 'cells', mark: { type: 'rect' },
            encoding: {
              x: { field: 'pred', type: 'nominal', sort: classes, title: 'predicted', axis: { labelAngle: -45 } },
              y: { field: 'true', type: 'nominal', sort: classes, title: 'true' },
              color: { field: 'rate', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, title: 'share of row' },
              tooltip: [{ field: 'true' }, { field: 'pred' }, { field: 'count' }, { field: 'rate', format: '.3f' }],
            },
          },
          ...(step >= 22 ? [{
            name: 'cell_labels', mark: { type: 'text', fontSize: step >= 30 ? 10 : 8 },
            encoding: {
              x: { field: 'pred', type: 'nominal', sort: classes },
              y: { field: 'true', type: 'nominal', sort: classes },
              text: { field: 'rate', type: 'quantitative', format: '.2f' },
              color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
            },
          }] : []),
        ],
      },
    }),
  };
}

// ------------------------------------------------------------------------------------------
// Training curves
// ------------------------------------------------------------------------------------------

/** At most `max` points: means over equal buckets of consecutive rows (every row when fewer). */
export function downsample(rows: Rows, keys: readonly string[], max = 1000): Rows {
  if (rows.length <= max) return rows.map((r) => Object.fromEntries(keys.map((k) => [k, r[k]])));
  const out: Rows = [];
  const size = rows.length / max;
  for (let b = 0; b < max; b++) {
    const chunk = rows.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (chunk.length === 0) continue;
    out.push(Object.fromEntries(keys.map((k) => [k, chunk.reduce((s, r) => s + Number(r[k]), 0) / chunk.length])));
  }
  return out;
}

export const GAN_LOSSES = [
  { field: 'G', title: 'G (total)' },
  { field: 'G_adv', title: 'G adversarial' },
  { field: 'G_L1', title: 'G L1' },
  { field: 'D', title: 'D' },
  { field: 'imgPerSec', title: 'img/s' },
] as const;

export function ganTrainingFigure(run: GanTrainingRunData, label: string): VegaFigure | null {
  if (run.steps.length === 0) return null;
  const values = downsample(run.steps, ['step', 'epoch', ...GAN_LOSSES.map((l) => l.field)]);
  const averaged = values.length < run.steps.length;
  return {
    type: 'vega', id: `training-${label}`, paper: 'Training', section: 'training',
    title: `GAN training losses and throughput, ${run.name}`,
    caption: `Generator (total, adversarial, L1) and discriminator losses and images per second at each logged step${averaged ? ` (means over buckets of ${(run.steps.length / values.length).toFixed(1)} steps)` : ''}.`,
    inputs: run.provenance, notes: [],
    spec: spec(`GAN training, ${run.name}`, inputsLine(run.provenance), {
      data: { values },
      vconcat: GAN_LOSSES.map((l, i) => ({
        width: 480, height: 80,
        name: `line_${l.field}`, mark: { type: 'line', color: TABLEAU[i], point: values.length <= 30 ? { size: 16, color: TABLEAU[i] } : false },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: i === GAN_LOSSES.length - 1 ? 'step' : null, axis: i === GAN_LOSSES.length - 1 ? {} : { labels: true } },
          y: { field: l.field, type: 'quantitative', title: l.title, scale: { zero: false } },
        },
      })),
    }),
  };
}

export function classifierTrainingFigure(run: ClassifierTrainingRunData, label: string): VegaFigure | null {
  if (run.epochs.length === 0) return null;
  const values = run.epochs.flatMap((e) => [
    { epoch: e.epoch, series: 'train loss', value: e.train_loss },
    { epoch: e.epoch, series: 'val loss', value: e.val_loss },
  ]).filter((v) => typeof v.value === 'number' && Number.isFinite(v.value));
  const acc = run.epochs.filter((e) => typeof e.val_accuracy === 'number' && Number.isFinite(e.val_accuracy)).map((e) => ({ epoch: e.epoch, val_accuracy: e.val_accuracy }));
  const lr = run.epochs.filter((e) => typeof e.lr === 'number' && (e.lr as number) > 0).map((e) => ({ epoch: e.epoch, lr: e.lr }));
  const point = run.epochs.length <= 40 ? { size: 20 } : false;
  const panels: VlSpec[] = [{
    data: { values }, width: 420, height: 140,
    name: 'loss_lines', mark: { type: 'line', point },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', sort: ['train loss', 'val loss'], scale: { range: [TABLEAU[0], TABLEAU[1]] }, legend: { title: null, orient: 'right' } },
    },
  }];
  if (acc.length) panels.push({ data: { values: acc }, width: 420, height: 90, name: 'accuracy_line', mark: { type: 'line', color: TABLEAU[4], point: point && { ...point, color: TABLEAU[4] } }, encoding: { x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } }, y: { field: 'val_accuracy', type: 'quantitative', title: 'val accuracy', axis: { format: '.0%' } } } });
  const lrValues = [...new Set(lr.map((e) => e.lr as number))].sort((a, b) => a - b);
  const lrTicks = lrValues.length <= 5 ? lrValues
    : Array.from({ length: Math.floor(Math.log10(lrValues.at(-1)!)) - Math.ceil(Math.log10(lrValues[0]!)) + 1 }, (_, i) => 10 ** (Math.ceil(Math.log10(lrValues[0]!)) + i));
  if (lr.length) panels.push({ data: { values: lr }, width: 420, height: 70, name: 'lr_line', mark: { type: 'line', color: TABLEAU[6], interpolate: 'step-after', point: point && { ...point, color: TABLEAU[6] } }, encoding: { x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } }, y: { field: 'lr', type: 'quantitative', title: 'learning rate', scale: { type: 'log' }, axis: { format: '.0e', values: lrTicks } } } });
  return {
    type: 'vega', id: `classifier-training-${label}`, paper: 'Training', section: 'training',
    title: `Classifier training, ${run.name}`,
    caption: 'Training and validation loss, validation accuracy and learning rate per epoch.',
    inputs: run.provenance, notes: [],
    spec: spec(`Classifier training, ${run.name}`, inputsLine(run.provenance), { vconcat: panels }),
  };
}

export function ganSampleFigure(run: GanTrainingRunData, label: string): ImageFigure | null {
  const last = run.samples.at(-1);
  if (!last) return null;
  return {
    type: 'image', id: `training-samples-${label}`, paper: 'Training samples', section: 'training',
    title: `Newest sample grid of ${run.name} (${basename(last)})`,
    caption: 'Rows: face, landmark image, generated face; one column per fixed sample pair of the run (written by `ganon train`).',
    path: last, inputs: run.provenance, notes: [],
  };
}

// ------------------------------------------------------------------------------------------
// Sample sheet
// ------------------------------------------------------------------------------------------

export interface SheetColumn { name: string; images: (string | null)[] }

/**
 * A grid of images: one column per entry (original, landmarks, each method), one row per face,
 * `rowLabels` on the left. Images are shrunk to `size` px thumbnails and inlined as PNG data URIs;
 * a missing image (null) is left blank.
 */
export async function sampleSheetFigure(columns: readonly SheetColumn[], rowLabels: readonly string[], size = 112, inputs: Provenance | null = null): Promise<VegaFigure> {
  const values: { row: string; column: string; url: string }[] = [];
  for (const c of columns) {
    for (const [i, path] of c.images.entries()) {
      if (!path) continue;
      const png = await sharp(path).resize(size, size, { fit: 'contain', background: { r: 255, g: 255, b: 255, alpha: 1 } }).png().toBuffer();
      values.push({ row: rowLabels[i] ?? String(i), column: c.name, url: `data:image/png;base64,${png.toString('base64')}` });
    }
  }
  const names = columns.map((c) => c.name);
  return {
    type: 'vega', id: 'sample-sheet', paper: 'Samples', section: 'samples',
    title: 'Sample sheet',
    caption: `Each row one face; columns: ${names.join(', ')}.`,
    inputs, notes: [],
    spec: spec('Sample sheet', `${rowLabels.length} faces; columns: ${names.join(' / ')}`, {
      data: { values },
      width: { step: size + 8 }, height: { step: size + 8 },
      name: 'images', mark: { type: 'image', width: size, height: size, aria: false },
      encoding: {
        x: { field: 'column', type: 'nominal', sort: names, title: null, axis: { orient: 'top', labelAngle: 0, ticks: false, domain: false, labelFontSize: 12, labelFontWeight: 'bold' } },
        y: { field: 'row', type: 'nominal', sort: [...rowLabels], title: null, axis: { ticks: false, domain: false, labelLimit: 160 } },
        url: { field: 'url', type: 'nominal' },
      },
      config: { ...CONFIG, view: { stroke: null } },
    }),
  };
}

// ------------------------------------------------------------------------------------------

export interface FigureSkip { what: string; reason: string }

/** Every figure the runs allow, in paper order, and what could not be drawn with the reason. */
export function buildFigures(runs: readonly RunData[], labels = runLabels(runs)): { figures: ReportFigure[]; skipped: FigureSkip[] } {
  const figures: ReportFigure[] = [];
  const skipped: FigureSkip[] = [];
  const add = (f: ReportFigure | null, what: string, reason: string) => (f ? figures.push(f) : skipped.push({ what, reason }));
  for (const r of runs) if (r.kind === 'identity') add(identityFigure(r, labels.get(r)!), `identity distances (${r.dir})`, r.rows ? 'no face was scored ok' : 'no identity.arrow in the run');
  for (const r of runs) if (r.kind === 'emotion') figures.push(figure7(r, labels.get(r)!));
  for (const r of runs) if (r.kind === 'emotion-training') add(confusionFigure(r, labels.get(r)!), `confusion matrices (${r.dir})`, 'no confusion.arrow in the run');
  for (const r of runs) if (r.kind === 'attributes') figures.push(figure9(r, labels.get(r)!));
  for (const r of runs) {
    if (r.kind === 'gan-training') {
      add(ganTrainingFigure(r, labels.get(r)!), `GAN training curves (${r.dir})`, 'steps.arrow has no rows');
      add(ganSampleFigure(r, labels.get(r)!), `GAN sample grid (${r.dir})`, 'no samples/*.png');
    }
    if (r.kind === 'classifier-training') add(classifierTrainingFigure(r, labels.get(r)!), `classifier training curves (${r.dir})`, 'epochs.arrow has no rows');
  }
  return { figures, skipped };
}
