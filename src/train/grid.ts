/**
 * The validation grid, as the reference draws it: for each sample a column of
 * face / landmark image / generated face, columns side by side, 2 px gaps.
 */
import type { RgbImage } from '../io/images.js';

export function sampleGrid(columns: RgbImage[][], gap = 2): RgbImage {
  const size = columns[0]?.[0]?.width ?? 0;
  const rows = columns[0]?.length ?? 0;
  const width = columns.length * size + (columns.length + 1) * gap;
  const height = rows * size + (rows + 1) * gap;
  const data = new Uint8Array(width * height * 3);
  columns.forEach((col, c) => {
    col.forEach((img, r) => {
      const x0 = gap + c * (size + gap);
      const y0 = gap + r * (size + gap);
      for (let y = 0; y < size; y++) {
        data.set(img.data.subarray(y * size * 3, (y + 1) * size * 3), ((y0 + y) * width + x0) * 3);
      }
    });
  });
  return { width, height, data };
}
