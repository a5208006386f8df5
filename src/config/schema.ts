/**
 * A small typed schema for plain-value configs: every key has a type, a
 * default and a one-line doc; unknown keys and wrong types fail with the
 * dotted key's name. (nanoGPT-style: defaults, then a YAML file, then --set.)
 */
import { ConfigError } from '../errors.js';

export type Field =
  | { type: 'number'; default: number; min?: number; max?: number; integer?: boolean; doc: string }
  | { type: 'string'; default: string; enum?: readonly string[]; doc: string }
  | { type: 'boolean'; default: boolean; doc: string };
export interface Schema { [key: string]: Field | Schema }

function isField(x: Field | Schema): x is Field {
  return typeof (x as Field).type === 'string' && 'doc' in x;
}

/** The defaults of a schema as a nested plain object. */
export function defaults(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) out[k] = isField(f) ? f.default : defaults(f);
  return out;
}

/** Validates `value` against `schema`, filling defaults; throws ConfigError naming the key. */
export function validate(schema: Schema, value: unknown, path = ''): Record<string, unknown> {
  if (value === null || value === undefined) value = {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${path || 'config'} must be a mapping of keys to values`);
  }
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!(k in schema)) {
      const hint = closest(k, Object.keys(schema));
      throw new ConfigError(`unknown config key '${path}${k}'${hint ? ` (did you mean '${path}${hint}'?)` : ''}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(schema)) {
    const key = path + k;
    if (!isField(f)) {
      out[k] = validate(f, v[k], `${key}.`);
      continue;
    }
    out[k] = v[k] === undefined ? f.default : checkField(key, f, v[k]);
  }
  return out;
}

function checkField(key: string, f: Field, x: unknown): unknown {
  const got = `got ${JSON.stringify(x)}`;
  switch (f.type) {
    case 'number': {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new ConfigError(`${key} must be a number (${got})`);
      if (f.integer && !Number.isInteger(x)) throw new ConfigError(`${key} must be an integer (${got})`);
      if (f.min !== undefined && x < f.min) throw new ConfigError(`${key} must be >= ${f.min} (${got})`);
      if (f.max !== undefined && x > f.max) throw new ConfigError(`${key} must be <= ${f.max} (${got})`);
      return x;
    }
    case 'string':
      if (typeof x !== 'string') throw new ConfigError(`${key} must be a string (${got})`);
      if (f.enum && !f.enum.includes(x)) throw new ConfigError(`${key} must be one of ${f.enum.join(', ')} (${got})`);
      return x;
    case 'boolean':
      if (typeof x !== 'boolean') throw new ConfigError(`${key} must be true or false (${got})`);
      return x;
  }
}

/** Sets a dotted key in a nested object (creating mappings on the way). */
export function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === undefined || next === null) cur[p] = {};
    else if (typeof next !== 'object') throw new ConfigError(`cannot set '${dotted}': '${p}' is not a mapping`);
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/** Edit distance <= 2 suggestion. */
function closest(k: string, keys: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of keys) {
    const d = lev(k.toLowerCase(), c.toLowerCase());
    if (d < bestD) { bestD = d; best = c; }
  }
  return best;
}

function lev(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** Markdown table of every key, its default and doc (for docs/configuration.md). */
export function describeSchema(schema: Schema, path = ''): string[] {
  const rows: string[] = [];
  for (const [k, f] of Object.entries(schema)) {
    if (isField(f)) {
      const range = f.type === 'string' && f.enum ? ` (${f.enum.join(' \\| ')})` : '';
      rows.push(`| \`${path}${k}\` | ${f.type}${range} | \`${JSON.stringify(f.default)}\` | ${f.doc} |`);
    } else rows.push(...describeSchema(f, `${path}${k}.`));
  }
  return rows;
}
