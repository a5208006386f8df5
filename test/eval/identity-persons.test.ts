/** Person files for re-identification by person (src/eval/identity-persons.ts). */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { assignPersons, parseIdentities, type OriginalFaceInfo } from '../../src/eval/identity-persons.js';

describe('parseIdentities', () => {
  it("CelebA's identity_CelebA.txt: 'IMAGE IDENTITY' lines, blank lines skipped", () => {
    expect(parseIdentities('000001.jpg 2880\n000002.jpg\t2937\r\n\n', 'id.txt')).toEqual([
      { name: '000001.jpg', person: '2880', face: null, line: 1 }, { name: '000002.jpg', person: '2937', face: null, line: 2 },
    ]);
    expect(() => parseIdentities('000001.jpg 2880 extra\n', 'id.txt')).toThrow(/line 1: expected 'IMAGE IDENTITY'/);
  });
  it('CSV with a header: image|file|original, identity|person, optional face', () => {
    expect(parseIdentities('image,identity\nsub/a.png,p1\n', 'p.csv')).toEqual([{ name: 'sub/a.png', person: 'p1', face: null, line: 2 }]);
    expect(parseIdentities('Person,File,face\n"Ann, B",./x.jpg,1\nBob,y.jpg,\n', 'p.csv')).toEqual([
      { name: 'x.jpg', person: 'Ann, B', face: 1, line: 2 }, { name: 'y.jpg', person: 'Bob', face: null, line: 3 },
    ]);
    expect(() => parseIdentities('a,b\n1,2\n', 'p.csv')).toThrow(InputError);
    expect(() => parseIdentities('image,identity,face\na.png,p,x\n', 'p.csv')).toThrow(/face must be/);
    expect(() => parseIdentities('image,identity\na.png,\n', 'p.csv')).toThrow(/empty/);
  });
});

describe('assignPersons', () => {
  const face = (rel: string, faceIndex: number, boxArea: number): OriginalFaceInfo => ({ rel, faceIndex, key: `${rel}#${faceIndex}`, boxArea });
  const faces = [face('000001.png', 0, 100), face('sub/000002.jpg', 0, 50), face('group.jpg', 0, 400), face('group.jpg', 1, 900), face('x/dup.png', 0, 1), face('y/dup.png', 0, 1), face('two.png', 0, 10), face('two.png', 1, 20)];
  it('matches by path, then file name, then file name without extension; largest face of a group photo; explicit faces', () => {
    const a = assignPersons([
      { name: '000001.jpg', person: 'P1', face: null, line: 1 }, // stem match (re-encoded as png)
      { name: '000002.jpg', person: 'P2', face: null, line: 2 }, // file name match in sub/
      { name: 'group.jpg', person: 'P3', face: null, line: 3 }, // largest box: face 1
      { name: 'dup.png', person: 'P4', face: null, line: 4 }, // two originals: ambiguous
      { name: 'nothere.jpg', person: 'P5', face: null, line: 5 },
      { name: 'two.png', person: 'P6', face: 0, line: 6 },
      { name: 'two.png', person: 'P7', face: 3, line: 7 }, // no such face
      { name: 'sub/000002.jpg', person: 'P8', face: null, line: 8 }, // conflicts with line 2
    ], faces);
    expect(Object.fromEntries(a.byKey)).toEqual({ '000001.png#0': 'P1', 'sub/000002.jpg#0': 'P2', 'group.jpg#1': 'P3', 'two.png#0': 'P6' });
    expect(a.files).toBe(4);
    expect(a.unmatched).toBe(1);
    expect(a.withoutFace).toBe(0);
    const nf = assignPersons([{ name: 'noface.jpg', person: 'P', face: null, line: 1 }], faces, ['noface.jpg']);
    expect([nf.unmatched, nf.withoutFace, nf.byKey.size]).toEqual([0, 1, 0]);
    expect(a.problems).toEqual([
      "line 4: 'dup.png' matches 2 originals (x/dup.png, y/dup.png); not used",
      "line 8: 'sub/000002.jpg' is person P8, but line 2 says P2; line 2 kept",
      "line 7: 'two.png' has no face 3 (2 detected)",
    ]);
  });
});
