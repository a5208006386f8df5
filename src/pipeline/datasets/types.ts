/**
 * The contract between a dataset reader and `ganon preprocess`: a reader lists
 * the dataset's images with their split and labels; it never decodes pixels
 * (unreadable files become `status=error` rows in the manifest downstream).
 */
import type { Split } from '../../io/manifest.js';

export interface DatasetItem {
  /** Path relative to the input root, '/' separators (the manifest's `source`). */
  source: string;
  /** Absolute path of the image file. */
  absPath: string;
  split: Split;
  /** Dataset-specific labels, JSON-serialisable ({} when none). */
  labels: Record<string, unknown>;
  /** The person shown, where the dataset says (CelebA identity, CK+/FACES subject). */
  identity?: string;
}

export interface ListOptions {
  /** Seed of the subject-level validation split (CK+, FACES). */
  seed: number;
  /** Share of subjects held out for 'val' where the dataset has no split of its own, in [0, 1). */
  valFraction: number;
}

export interface DatasetReader {
  name: string;
  /** Class names in label-code order, where the dataset has a fixed class list. */
  classes?: string[];
  /** Items sorted by `source`; throws DatasetError for missing or malformed files. */
  list(root: string, opts: ListOptions): DatasetItem[];
}
