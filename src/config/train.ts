/**
 * The training config: schema with defaults (the paper's values), loading
 * from YAML, and `--set key=value` overrides validated like the file.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../errors.js';
import type { UNetConfig } from '../models/unet.js';
import type { PatchGanConfig } from '../models/patchgan.js';
import { setPath, validate, type Schema } from './schema.js';

export const trainSchema = {
  seed: { type: 'number', default: 42, integer: true, min: 0, doc: 'Seed for init, data order and dropout.' },
  imageSize: { type: 'number', default: 512, integer: true, min: 16, doc: 'Side of faces, landmark images and the networks (one size end to end). Multiple of 2^model.depth.' },
  model: {
    ngf: { type: 'number', default: 64, integer: true, min: 1, doc: 'Generator width (64 = the paper network).' },
    ndf: { type: 'number', default: 64, integer: true, min: 1, doc: 'Discriminator width (64 = the paper network).' },
    depth: { type: 'number', default: 8, integer: true, min: 2, max: 10, doc: 'U-Net down blocks (8 = the paper network).' },
    dropout: { type: 'number', default: 0.5, min: 0, max: 0.99, doc: 'Dropout in down4-8/up1-4, training only.' },
  },
  train: {
    batchSize: { type: 'number', default: 32, integer: true, min: 1, doc: 'Pairs per step.' },
    epochs: { type: 'number', default: 25, integer: true, min: 1, doc: 'Passes over the train split.' },
    maxSteps: { type: 'number', default: 0, integer: true, min: 0, doc: 'Stop after this many steps (0 = no limit).' },
    lr: { type: 'number', default: 0.0002, min: 0, doc: 'Adam learning rate for G and D (constant, no schedule).' },
    beta1: { type: 'number', default: 0.5, min: 0, max: 1, doc: 'Adam beta1.' },
    beta2: { type: 'number', default: 0.999, min: 0, max: 1, doc: 'Adam beta2.' },
    eps: { type: 'number', default: 1e-8, min: 0, doc: "Adam epsilon (PyTorch's default)." },
    lambdaL1: { type: 'number', default: 100, min: 0, doc: 'Weight of the L1 pixel loss in loss_G.' },
    discriminatorFake: { type: 'string', default: 'reuse', enum: ['reuse', 'regenerate'], doc: "D step on the G step's detached fake (reuse, pix2pix) or a fresh G forward (regenerate, what the authors' code does)." },
  },
  checkpoint: {
    every: { type: 'number', default: 500, integer: true, min: 1, doc: 'Write a checkpoint every N steps (and at each epoch end).' },
    keep: { type: 'number', default: 5, integer: true, min: 1, doc: 'Keep the newest K step checkpoints.' },
  },
  log: {
    sampleEvery: { type: 'number', default: 500, integer: true, min: 1, doc: 'Write a validation grid PNG every N steps.' },
    sampleCount: { type: 'number', default: 5, integer: true, min: 1, max: 16, doc: 'Validation pairs in the grid (columns).' },
  },
  data: {
    layout: { type: 'string', default: 'auto', enum: ['auto', 'manifest', 'side-by-side'], doc: 'Dataset layout: ganon preprocess output (manifest.arrow) or the authors\' 1024x512 side-by-side pairs.' },
    includeNoFace: { type: 'boolean', default: true, doc: 'Train on no-face rows with an all-black landmark image (as the paper does).' },
    prefetch: { type: 'number', default: 3, integer: true, min: 1, doc: 'Batches decoded ahead of the model.' },
  },
} satisfies Schema;

export interface TrainConfig {
  seed: number;
  imageSize: number;
  model: { ngf: number; ndf: number; depth: number; dropout: number };
  train: {
    batchSize: number; epochs: number; maxSteps: number; lr: number; beta1: number; beta2: number; eps: number;
    lambdaL1: number; discriminatorFake: 'reuse' | 'regenerate';
  };
  checkpoint: { every: number; keep: number };
  log: { sampleEvery: number; sampleCount: number };
  data: { layout: 'auto' | 'manifest' | 'side-by-side'; includeNoFace: boolean; prefetch: number };
}

/** Validates a raw object (defaults filled) and the cross-key rules. */
export function resolveTrainConfig(raw: unknown): TrainConfig {
  const cfg = validate(trainSchema, raw) as unknown as TrainConfig;
  const m = 2 ** cfg.model.depth;
  if (cfg.imageSize % m !== 0) {
    throw new ConfigError(`imageSize ${cfg.imageSize} must be a multiple of 2^model.depth = ${m}`);
  }
  return cfg;
}

/** Parses `key=value` (value as YAML: numbers, booleans, strings). */
export function parseSet(expr: string): [string, unknown] {
  const i = expr.indexOf('=');
  if (i <= 0) throw new ConfigError(`--set expects key=value (got '${expr}')`);
  const key = expr.slice(0, i).trim();
  const text = expr.slice(i + 1);
  let value: unknown;
  try {
    value = parse(text);
  } catch {
    value = text;
  }
  return [key, value ?? text];
}

/** Loads a YAML file, applies `--set` overrides, validates. */
export function loadTrainConfig(file: string | undefined, sets: string[] = []): TrainConfig {
  return resolveTrainConfig(readRawConfig(file, sets));
}

/** A YAML config file (or {}) with `--set key=value` overrides applied, not yet validated. */
export function readRawConfig(file: string | undefined, sets: string[] = []): Record<string, unknown> {
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      raw = (parse(text) ?? {}) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config '${file}' is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  for (const s of sets) {
    const [k, v] = parseSet(s);
    setPath(raw, k, v);
  }
  return raw;
}

export function unetConfigOf(cfg: TrainConfig): UNetConfig {
  return { inChannels: 3, outChannels: 3, ngf: cfg.model.ngf, depth: cfg.model.depth, dropout: cfg.model.dropout };
}

export function patchganConfigOf(cfg: TrainConfig): PatchGanConfig {
  return { inChannels: 3, ndf: cfg.model.ndf };
}
