/**
 * Text widths from the TrueType file the PNGs are drawn with, for vega's layout.
 *
 * Without a canvas, vega estimates a text's width as 0.8 x font size per character, which for
 * DejaVu Sans (about 0.55-0.65 em per character) leaves wide empty margins and wrong label-overlap
 * decisions. This reads the advance widths from the font's own cmap (format 4) and hmtx tables;
 * no kerning (a few tenths of a pixel per pair). render.ts installs it as vega's
 * `textMetrics.width` (the hook vega documents for user-defined measurement).
 */
import { readFileSync } from 'node:fs';

export interface FontMetrics {
  unitsPerEm: number;
  /** Advance width in font units of a code point (the .notdef glyph's when the font has none). */
  advance(codePoint: number): number;
}

export function parseTtf(buf: Uint8Array): FontMetrics {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const numTables = dv.getUint16(4);
  const tables = new Map<string, number>();
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    const tag = String.fromCharCode(buf[rec]!, buf[rec + 1]!, buf[rec + 2]!, buf[rec + 3]!);
    tables.set(tag, dv.getUint32(rec + 8));
  }
  const need = (tag: string) => {
    const o = tables.get(tag);
    if (o === undefined) throw new Error(`font has no '${tag}' table`);
    return o;
  };
  const unitsPerEm = dv.getUint16(need('head') + 18);
  const nMetrics = dv.getUint16(need('hhea') + 34);
  const hmtx = need('hmtx');
  const adv = (glyph: number) => dv.getUint16(hmtx + 4 * Math.min(glyph, nMetrics - 1));

  // cmap: the Windows Unicode BMP subtable (3,1) or Unicode (0,3), format 4
  const cmap = need('cmap');
  let sub = -1;
  for (let i = 0; i < dv.getUint16(cmap + 2); i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = dv.getUint16(rec);
    const encoding = dv.getUint16(rec + 2);
    const off = cmap + dv.getUint32(rec + 4);
    if (dv.getUint16(off) === 4 && ((platform === 3 && encoding === 1) || (platform === 0 && encoding === 3))) {
      sub = off;
      break;
    }
  }
  if (sub < 0) throw new Error('font has no format-4 Unicode cmap');
  const segCount = dv.getUint16(sub + 6) / 2;
  const endCodes = sub + 14;
  const startCodes = endCodes + 2 * segCount + 2;
  const idDeltas = startCodes + 2 * segCount;
  const idRangeOffsets = idDeltas + 2 * segCount;
  const glyphOf = (c: number): number => {
    if (c > 0xffff) return 0;
    for (let i = 0; i < segCount; i++) {
      if (dv.getUint16(endCodes + 2 * i) < c) continue;
      const start = dv.getUint16(startCodes + 2 * i);
      if (start > c) return 0;
      const delta = dv.getInt16(idDeltas + 2 * i);
      const ro = dv.getUint16(idRangeOffsets + 2 * i);
      if (ro === 0) return (c + delta) & 0xffff;
      const g = dv.getUint16(idRangeOffsets + 2 * i + ro + 2 * (c - start));
      return g === 0 ? 0 : (g + delta) & 0xffff;
    }
    return 0;
  };
  const cache = new Map<number, number>();
  return {
    unitsPerEm,
    advance(cp: number) {
      let a = cache.get(cp);
      if (a === undefined) {
        a = adv(glyphOf(cp));
        cache.set(cp, a);
      }
      return a;
    },
  };
}

const fonts = new Map<string, FontMetrics>();

export function fontMetrics(path: string): FontMetrics {
  let f = fonts.get(path);
  if (!f) {
    f = parseTtf(readFileSync(path));
    fonts.set(path, f);
  }
  return f;
}

/** Width in pixels of `text` at `size` px. */
export function textWidth(m: FontMetrics, text: string, size: number): number {
  let units = 0;
  for (const ch of text) units += m.advance(ch.codePointAt(0)!);
  return (units * size) / m.unitsPerEm;
}
