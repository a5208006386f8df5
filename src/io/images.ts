/**
 * Image decode/encode at the edge (sharp). Pixels inside the toolkit are RGB,
 * uint8, row-major [H, W, 3]; EXIF orientation is applied on decode, alpha is
 * dropped (composited on black), grey and CMYK are converted to sRGB.
 */
import sharp from 'sharp';
import { InputError } from '../errors.js';
import { writeFileAtomic } from './fs.js';

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, row-major, length width*height*3. */
  data: Uint8Array;
}

sharp.cache(false);
sharp.concurrency(1);

/** Decodes any image sharp reads; throws InputError with the file name and reason. */
export async function decodeImage(input: string | Buffer, name = typeof input === 'string' ? input : 'image'): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input, { failOn: 'error' })
      .rotate()
      .flatten({ background: { r: 0, g: 0, b: 0 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? 'unknown error';
    throw new InputError(`cannot decode image '${name}': ${msg}`);
  }
}

/** PNG bytes of an RGB image. */
export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), {
    raw: { width: img.width, height: img.height, channels: 3 },
  }).png({ compressionLevel: 6 }).toBuffer();
}

export async function writePng(path: string, img: RgbImage): Promise<void> {
  await writeFileAtomic(path, await encodePng(img));
}

/** uint8 RGB -> float32 in [-1, 1] (ToTensor then Normalize(0.5, 0.5)). */
export function toUnitRange(data: Uint8Array, out = new Float32Array(data.length), offset = 0): Float32Array {
  for (let i = 0; i < data.length; i++) out[offset + i] = data[i]! / 127.5 - 1;
  return out;
}

/** float in [-1, 1] -> uint8 ((x+1)/2, clamped, rounded like torchvision's ToPILImage after *255). */
export function fromUnitRange(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = ((data[i]! + 1) / 2) * 255;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/** Crops a region of an RGB image (copy). */
export function crop(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    const src = ((y + r) * img.width + x) * 3;
    data.set(img.data.subarray(src, src + w * 3), r * w * 3);
  }
  return { width: w, height: h, data };
}

/** Encodes in the format the file extension names (.png, .jpg/.jpeg, .webp, .tif/.tiff); others as PNG. No metadata is written. */
export async function encodeByExtension(img: RgbImage, ext: string): Promise<{ bytes: Buffer; ext: string }> {
  const pipe = sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length), { raw: { width: img.width, height: img.height, channels: 3 } });
  const e = ext.toLowerCase();
  if (e === '.jpg' || e === '.jpeg') return { bytes: await pipe.jpeg({ quality: 95 }).toBuffer(), ext };
  if (e === '.webp') return { bytes: await pipe.webp({ lossless: true }).toBuffer(), ext };
  if (e === '.tif' || e === '.tiff') return { bytes: await pipe.tiff().toBuffer(), ext };
  return { bytes: await pipe.png({ compressionLevel: 6 }).toBuffer(), ext: e === '.png' ? ext : `${ext}.png` };
}
