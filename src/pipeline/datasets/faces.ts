/**
 * FACES (Ebner, Riediger & Lindenberger, Behav. Res. Methods 2010): 171 people
 * x 6 expressions x 2 sets, labelled only by the file name
 * ID_AGE_GENDER_EMOTION_SET, e.g. 004_o_m_a_a.jpg (age y/m/o, gender m/f,
 * emotion a/d/f/h/n/s, set a/b). Every image under the root must follow it.
 * FACES has no split of its own: a seeded share of the people becomes 'val'
 * (common.ts subjectSplit), so no person is in both splits.
 */
import { DatasetError } from '../../errors.js';
import { finish, makeItem, openDataset, splitBySubject, walkImages } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

/** Emotion names in the order of their file-name letters a, d, f, h, n, s. */
export const FACES_CLASSES = ['anger', 'disgust', 'fear', 'happy', 'neutral', 'sad'];

const EMOTIONS: Record<string, string> = { a: 'anger', d: 'disgust', f: 'fear', h: 'happy', n: 'neutral', s: 'sad' };
const AGES: Record<string, string> = { y: 'young', m: 'middle', o: 'old' };
const GENDERS: Record<string, string> = { m: 'male', f: 'female' };
const NAME = /^(\d+)_([ymo])_([mf])_([adfhns])_([ab])\.[a-z]+$/i;
const LAYOUT = 'images named ID_AGE_GENDER_EMOTION_SET.jpg (e.g. 004_o_m_a_a.jpg; age y/m/o, gender m/f, emotion a/d/f/h/n/s, set a/b), in the root or in sub-folders';

export interface FacesName {
  id: string;
  age: string;
  gender: string;
  emotion: string;
  set: string;
}

/** Decodes a FACES file name; null when it does not follow the naming. */
export function parseFacesName(file: string): FacesName | null {
  const m = NAME.exec(file);
  if (!m) return null;
  const [id, age, gender, emotion, set] = m.slice(1, 6).map((s) => s.toLowerCase()) as [string, string, string, string, string];
  return { id, age: AGES[age]!, gender: GENDERS[gender]!, emotion: EMOTIONS[emotion]!, set };
}

function listFaces(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('faces', root, opts, LAYOUT);
  const items: DatasetItem[] = [];
  const people = new Map<string, { age: string; gender: string; source: string }>();
  for (const source of walkImages(ctx, '')) {
    const f = parseFacesName(source.slice(source.lastIndexOf('/') + 1));
    if (!f) throw new DatasetError(`faces: '${source}' does not follow the FACES naming; expected ${LAYOUT}`);
    const p = people.get(f.id);
    if (p && (p.age !== f.age || p.gender !== f.gender)) {
      throw new DatasetError(`faces: person ${f.id} is ${p.age}/${p.gender} in '${p.source}' but ${f.age}/${f.gender} in '${source}'`);
    }
    if (!p) people.set(f.id, { age: f.age, gender: f.gender, source });
    items.push(makeItem(ctx, source, 'train', { emotion: f.emotion, age: f.age, gender: f.gender, set: f.set }, f.id));
  }
  return finish(ctx, splitBySubject(items, opts), 'FACES images');
}

export const faces: DatasetReader = { name: 'faces', classes: FACES_CLASSES, list: listFaces };
