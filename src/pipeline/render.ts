/**
 * The landmark image the generator sees, rendered exactly as the reference's
 * MediaPipe `draw_landmarks(..., connections=None, DrawingSpec(WHITE_COLOR,
 * thickness=1, circle_radius=0))` on a black S x S x 3 canvas:
 * - WHITE_COLOR is (224, 224, 224), not 255;
 * - a point lands at (min(floor(x*S), S-1), min(floor(y*S), S-1));
 * - points whose normalised x or y is outside [0, 1] are dropped; z is ignored;
 * - each point is a 5-pixel "+" (centre and its 4-neighbours): the r=1 "white
 *   border" circle plus the r=0 circle, as OpenCV draws them.
 */
import type { RgbImage } from '../io/images.js';

export const LANDMARK_VALUE = 224;
export const NUM_LANDMARKS = 478;

/** points: [x0, y0, z0, x1, y1, z1, ...] normalised to the image. */
export function renderLandmarks(points: ArrayLike<number>, size: number): RgbImage {
  const data = new Uint8Array(size * size * 3);
  const set = (px: number, py: number) => {
    if (px < 0 || py < 0 || px >= size || py >= size) return;
    const o = (py * size + px) * 3;
    data[o] = LANDMARK_VALUE;
    data[o + 1] = LANDMARK_VALUE;
    data[o + 2] = LANDMARK_VALUE;
  };
  for (let i = 0; i + 1 < points.length; i += 3) {
    const x = points[i]!;
    const y = points[i + 1]!;
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) continue;
    const px = Math.min(Math.floor(x * size), size - 1);
    const py = Math.min(Math.floor(y * size), size - 1);
    set(px, py);
    set(px - 1, py);
    set(px + 1, py);
    set(px, py - 1);
    set(px, py + 1);
  }
  return { width: size, height: size, data };
}
