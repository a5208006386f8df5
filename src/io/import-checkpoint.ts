/**
 * `ganon import-checkpoint`: the authors' Lightning `.ckpt` (or any PyTorch
 * state_dict file) converted once into this toolkit's checkpoint layout:
 * `generator.safetensors` and `discriminator.safetensors` with the reference's
 * names (the `generator.` / `discriminator.` prefixes stripped), so
 * `--weights DIR` works everywhere and the file can be checked by sha256.
 */
import { basename, join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { networks } from '../models/registry.js';
import { writeFileAtomic } from './fs.js';
import { encodeSafetensors, type TensorMap } from './safetensors.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';

function part(all: TensorMap, prefix: string): TensorMap {
  return new Map([...all].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

export interface ImportResult { files: string[]; generator: { ngf: number; depth: number } | null; discriminator: boolean; epoch?: number; globalStep?: number }

export async function importCheckpoint(file: string, outDir: string): Promise<ImportResult> {
  const ck = readTorchCheckpoint(file, file);
  const t = ck.tensors;
  const gen = t.has('generator.down1.model.0.weight') ? part(t, 'generator.') : t.has('down1.model.0.weight') ? t : null;
  const disc = t.has('discriminator.model.0.weight') ? part(t, 'discriminator.') : null;
  if (!gen && !disc) {
    throw new ModelLoadError(`'${file}' has neither generator.* nor discriminator.* weights (found ${[...t.keys()].slice(0, 4).join(', ')}...)`);
  }
  const meta = { format: 'ganon-checkpoint-v1', importedFrom: basename(file), epoch: String(ck.meta.epoch ?? ''), globalStep: String(ck.meta.globalStep ?? '') };
  const files: string[] = [];
  let g: ImportResult['generator'] = null;
  if (gen) {
    const cfg = networks.unet.inferConfig(gen, file); // checks the layout
    g = { ngf: cfg.ngf, depth: cfg.depth };
    const path = join(outDir, 'generator.safetensors');
    await writeFileAtomic(path, encodeSafetensors(gen, { ...meta, network: 'unet' }));
    files.push(path);
  }
  if (disc) {
    networks.patchgan.inferConfig(disc, file);
    const path = join(outDir, 'discriminator.safetensors');
    await writeFileAtomic(path, encodeSafetensors(disc, { ...meta, network: 'patchgan' }));
    files.push(path);
  }
  return { files, generator: g, discriminator: disc !== null, epoch: ck.meta.epoch, globalStep: ck.meta.globalStep };
}
