/** The bad-input corpus of the preprocessing issue, generated in a test's temp dir (nothing committed). */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { repoRoot } from './cli.js';

const ASTRONAUT = `${repoRoot}test/.cache/astronaut.png`;

/** Good photos plus every kind of bad input the issue lists, generated here. */
export async function makeCorpus(root: string): Promise<string> {
  mkdirSync(join(root, 'good'));
  mkdirSync(join(root, 'bad'));
  const png = readFileSync(ASTRONAUT);
  copyFileSync(ASTRONAUT, join(root, 'good', 'astronaut.png'));
  await sharp(png).jpeg({ quality: 90 }).toFile(join(root, 'good', 'astronaut.jpg'));
  await sharp(png).greyscale().png().toFile(join(root, 'good', 'grey.png'));
  await sharp(png).ensureAlpha(0.5).png().toFile(join(root, 'good', 'alpha.png'));
  await sharp(png).toColourspace('rgb16').png().toFile(join(root, 'good', 'sixteen-bit.png'));
  await sharp(png).toColourspace('cmyk').jpeg().toFile(join(root, 'good', 'cmyk.jpg'));
  // EXIF orientation 6 (rotate 90 CW to display): stored rotated the other way
  await sharp(png).rotate(-90).jpeg().withMetadata({ orientation: 6 }).toFile(join(root, 'good', 'exif-rotated.jpg'));
  const jpg = readFileSync(join(root, 'good', 'astronaut.jpg'));
  writeFileSync(join(root, 'bad', 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 3)));
  const header = Buffer.from(png);
  header[1] = 0x00; // breaks the PNG signature
  writeFileSync(join(root, 'bad', 'bad-header.png'), header);
  writeFileSync(join(root, 'bad', 'zero-byte.png'), Buffer.alloc(0));
  writeFileSync(join(root, 'bad', 'not-an-image.jpg'), 'plain text');
  await sharp({ create: { width: 1, height: 1, channels: 3, background: 'white' } }).png().toFile(join(root, 'bad', 'one-pixel.png'));
  await sharp({ create: { width: 3000, height: 2000, channels: 3, background: 'grey' } }).png().toFile(join(root, 'bad', 'huge.png'));
  symlinkSync('/nonexistent/ganon-test/photo.png', join(root, 'bad', 'unreadable.png')); // a path that cannot be read
  return root;
}

