/**
 * Any folder of images, searched recursively (dot files and folders skipped),
 * without labels. Every item is split 'train': a plain folder carries no split,
 * and inventing one (the reference's unseeded train_test_split) would make
 * results depend on the run. Hold data out by keeping it in another folder.
 */
import { finish, IMAGE_EXTENSIONS, makeItem, openDataset, walkImages } from './common.js';
import type { DatasetItem, DatasetReader, ListOptions } from './types.js';

const LAYOUT = `any folder tree with image files (${IMAGE_EXTENSIONS.join(' ')})`;

function listFolder(root: string, opts: ListOptions): DatasetItem[] {
  const ctx = openDataset('folder', root, opts, LAYOUT);
  const items = walkImages(ctx, '').map((source) => makeItem(ctx, source, 'train', {}));
  return finish(ctx, items, 'images');
}

export const folder: DatasetReader = { name: 'folder', list: listFolder };
