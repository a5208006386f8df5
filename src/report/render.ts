/**
 * Vega-Lite spec -> checked -> Vega -> SVG -> PNG, headless, nothing fetched:
 * - validateSpec: the spec against the Vega-Lite JSON schema shipped in the vega-lite package (ajv);
 * - renderSvg: vega-lite compile, a vega View with renderer 'none', View.toSVG();
 * - svgToPng: resvg with the DejaVu Sans TrueType files of the dejavu-fonts-ttf npm package (no
 *   system fonts: the text looks the same on every machine);
 * - text is measured with the same font's advance widths (font-metrics.ts), not vega's estimate;
 * - markCounts: items per named mark in the view's scenegraph (bars, cells, lines the data implies).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import AjvModule from 'ajv';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { VlSpec } from './figures.js';
import { FONT } from './figures.js';
import { fontMetrics, textWidth } from './font-metrics.js';

const require = createRequire(import.meta.url);

/** The DejaVu Sans TrueType files the PNGs are drawn with. */
export function fontFiles(): string[] {
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  return ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSans-BoldOblique.ttf'].map((f) => join(dir, f));
}

export function vegaLiteSchemaPath(): string {
  return require.resolve('vega-lite/vega-lite-schema.json');
}

interface TextItem { fontSize?: number; fontWeight?: string | number; text?: unknown }

let measuring = false;
/** Vega measures text with the advance widths of the DejaVu Sans files the PNG is drawn with. */
export function installTextMetrics(): void {
  if (measuring) return;
  const [regular, bold] = fontFiles().map((f) => fontMetrics(f));
  const tm = (vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics;
  tm.width = (item: TextItem, text?: unknown) => {
    const t = text ?? item.text;
    const s = Array.isArray(t) ? t.join(' ') : t === null || t === undefined ? '' : String(t);
    const size = item.fontSize ?? 11;
    const w = item.fontWeight;
    const isBold = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && Number(w) >= 600);
    return size <= 0 ? 0 : textWidth(isBold ? bold! : regular!, s, size);
  };
  measuring = true;
}

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
let validator: Validate | null = null;

/** Errors of `spec` against the Vega-Lite schema (empty: valid). */
export function validateSpec(spec: VlSpec): string[] {
  if (!validator) {
    const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (o: object) => { compile(s: object): Validate };
    const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: false });
    validator = ajv.compile(JSON.parse(readFileSync(vegaLiteSchemaPath(), 'utf8')) as object);
  }
  if (validator(spec)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'invalid'}`);
}

export interface Rendered {
  svg: string;
  /** Items per named mark (e.g. { bars: 24 }); unnamed marks are left out. */
  marks: Record<string, number>;
  /** Vega-Lite's compile warnings and the view's warnings. */
  warnings: string[];
}

interface SceneItem { items?: SceneItem[]; marktype?: string; name?: string; role?: string }

/** Counts scenegraph items per mark name, over every facet cell and concat panel. */
export function markCounts(root: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const visit = (node: SceneItem) => {
    if (node.marktype && node.name && node.role === 'mark') {
      const n = node.marktype === 'line' || node.marktype === 'area' ? (node.items?.length ? 1 : 0) : (node.items?.length ?? 0);
      out[node.name] = (out[node.name] ?? 0) + n;
    }
    for (const c of node.items ?? []) visit(c);
  };
  visit(root as SceneItem);
  return out;
}

export async function renderSvg(spec: VlSpec): Promise<Rendered> {
  const warnings: string[] = [];
  const logger = {
    level(_l?: number) { return this; },
    error(...a: unknown[]) { warnings.push(`error: ${a.join(' ')}`); return this; },
    warn(...a: unknown[]) { warnings.push(a.join(' ')); return this; },
    info() { return this; },
    debug() { return this; },
  };
  installTextMetrics();
  const { spec: vg } = compile(spec as never, { logger: logger as never });
  const view = new vega.View(vega.parse(vg), { renderer: 'none', logger: logger as never });
  await view.runAsync();
  const svg = await view.toSVG();
  const marks = markCounts((view.scenegraph() as unknown as { root: unknown }).root);
  view.finalize();
  return { svg, marks, warnings };
}

/** The SVG drawn to PNG at `scale` with DejaVu Sans (the only font resvg is given). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: FONT, sansSerifFamily: FONT },
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
  });
  return r.render().asPng();
}
