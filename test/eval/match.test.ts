import { mkdirSync, mkdtempSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listImages, matchMethod } from '../../src/eval/match.js';

describe('matchMethod', () => {
  it('prefers the crop name, then the same path, then another extension; lists missing and extra', () => {
    const originals = ['a.png', 'b.jpg', 'sub/c.png', 'd.png', 'e.png'];
    const method = ['0_a.png', 'b.png', 'sub/c.png', 'zzz.png', 'e.webp', '0_e.png'];
    const m = matchMethod(originals, method);
    expect(Object.fromEntries(m.matched)).toEqual({ 'a.png': '0_a.png', 'b.jpg': 'b.png', 'sub/c.png': 'sub/c.png', 'e.png': '0_e.png' });
    expect(m.missing).toEqual(['d.png']);
    expect(m.extra).toEqual(['zzz.png', 'e.webp']);
  });
  it('lists images recursively, skipping dangling links and non-images', () => {
    const d = mkdtempSync(join(tmpdir(), 'ganon-match-'));
    mkdirSync(join(d, 'x'));
    writeFileSync(join(d, 'x', 'a.PNG'), '');
    writeFileSync(join(d, 'b.jpg'), '');
    writeFileSync(join(d, 'notes.txt'), '');
    symlinkSync(join(d, 'nope.png'), join(d, 'dangling.png'));
    expect(listImages(d)).toEqual(['b.jpg', 'x/a.PNG']);
    expect(() => listImages(join(d, 'missing'))).toThrow(/not a directory/);
  });
});
