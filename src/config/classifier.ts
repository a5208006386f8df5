/**
 * The classifier config (paper section 4.2 / the reference's GenericClassifier):
 * ConvNeXt, AdamW 3e-4 with weight decay 1e-3, ReduceLROnPlateau (patience 3,
 * factor 0.1) on the validation loss, early stopping (patience 5), batch 128,
 * at most 100 epochs, resize 232 / centre crop 224 / ImageNet normalisation,
 * random horizontal flip in training, balanced class weights.
 */
import { ConfigError } from '../errors.js';
import { CONVNEXT_ARCHS } from '../models/convnext.js';
import { validate, type Schema } from './schema.js';
import { readRawConfig } from './train.js';

export const classifierSchema = {
  seed: { type: 'number', default: 42, integer: true, min: 0, doc: 'Seed for the head init, data order, flips and stochastic depth.' },
  task: { type: 'string', default: 'emotion', enum: ['emotion', 'attributes'], doc: 'emotion: one class per image (softmax, weighted cross-entropy); attributes: 40 CelebA labels (sigmoid, weighted BCE).' },
  arch: { type: 'string', default: 'convnext_base', enum: Object.keys(CONVNEXT_ARCHS), doc: "torchvision ConvNeXt variant (the paper: convnext_base; convnext_micro is the tests' tiny net)." },
  input: {
    resize: { type: 'number', default: 232, integer: true, min: 1, doc: 'Shorter side after the bilinear (antialiased) resize.' },
    crop: { type: 'number', default: 224, integer: true, min: 32, doc: 'Centre crop side fed to the network (a multiple of 32).' },
    flip: { type: 'boolean', default: true, doc: 'Random horizontal flip (p = 0.5) in training.' },
  },
  train: {
    batchSize: { type: 'number', default: 128, integer: true, min: 1, doc: 'Images per step.' },
    maxEpochs: { type: 'number', default: 100, integer: true, min: 1, doc: 'Upper bound on epochs (early stopping usually ends sooner).' },
    lr: { type: 'number', default: 3e-4, min: 0, doc: 'AdamW learning rate.' },
    weightDecay: { type: 'number', default: 1e-3, min: 0, doc: 'AdamW decoupled weight decay.' },
    beta1: { type: 'number', default: 0.9, min: 0, max: 1, doc: 'AdamW beta1.' },
    beta2: { type: 'number', default: 0.999, min: 0, max: 1, doc: 'AdamW beta2.' },
    eps: { type: 'number', default: 1e-8, min: 0, doc: 'AdamW epsilon.' },
    plateauPatience: { type: 'number', default: 3, integer: true, min: 0, doc: 'ReduceLROnPlateau patience (epochs without val-loss improvement).' },
    plateauFactor: { type: 'number', default: 0.1, min: 0, max: 0.999, doc: 'ReduceLROnPlateau factor.' },
    earlyStopping: { type: 'number', default: 5, integer: true, min: 1, doc: 'Stop after this many epochs without a val-loss improvement.' },
    classWeights: { type: 'string', default: 'balanced', enum: ['balanced', 'none'], doc: "Loss weights: sklearn 'balanced' (per class, or per label the mean of its two) or none." },
  },
  data: {
    labelKey: { type: 'string', default: 'emotion', doc: "Key of the manifest's labels JSON holding the class name (emotion task)." },
    prefetch: { type: 'number', default: 2, integer: true, min: 1, doc: 'Batches decoded ahead of the model.' },
  },
} satisfies Schema;

export interface ClassifierConfig {
  seed: number;
  task: 'emotion' | 'attributes';
  arch: string;
  input: { resize: number; crop: number; flip: boolean };
  train: {
    batchSize: number; maxEpochs: number; lr: number; weightDecay: number; beta1: number; beta2: number; eps: number;
    plateauPatience: number; plateauFactor: number; earlyStopping: number; classWeights: 'balanced' | 'none';
  };
  data: { labelKey: string; prefetch: number };
}

export function resolveClassifierConfig(raw: unknown): ClassifierConfig {
  const cfg = validate(classifierSchema, raw) as unknown as ClassifierConfig;
  if (cfg.input.crop % 32 !== 0) throw new ConfigError(`input.crop ${cfg.input.crop} must be a multiple of 32 (ConvNeXt's total stride)`);
  if (cfg.input.resize < cfg.input.crop) throw new ConfigError(`input.resize ${cfg.input.resize} is smaller than input.crop ${cfg.input.crop}`);
  return cfg;
}

export function loadClassifierConfig(file: string | undefined, sets: string[] = []): ClassifierConfig {
  return resolveClassifierConfig(readRawConfig(file, sets));
}
