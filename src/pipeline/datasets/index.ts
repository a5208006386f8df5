/**
 * The dataset readers, by the name `ganon preprocess --dataset` takes.
 * Each is documented in datasets/<name>/README.md (layout, labels, splits).
 */
import { ConfigError } from '../../errors.js';
import { affectnet } from './affectnet.js';
import { celeba } from './celeba.js';
import { ckplus } from './ckplus.js';
import { faces } from './faces.js';
import { folder } from './folder.js';
import type { DatasetReader } from './types.js';
import { wider } from './wider.js';

export type { DatasetItem, DatasetReader, ListOptions } from './types.js';

export const datasets = { celeba, wider, affectnet, ckplus, faces, folder } satisfies Record<string, DatasetReader>;

export type DatasetName = keyof typeof datasets;

export function getDataset(name: string): DatasetReader {
  if (!Object.hasOwn(datasets, name)) {
    throw new ConfigError(`unknown dataset '${name}'; valid names: ${Object.keys(datasets).join(', ')}`);
  }
  return datasets[name as DatasetName];
}
