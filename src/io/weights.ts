/** Reading network weights from a file or a checkpoint directory (safetensors, PyTorch names). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import { decodeSafetensors, type TensorMap } from './safetensors.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';

/**
 * `path` is a .safetensors file or a checkpoint directory (then `<dir>/<file>`).
 * Keys may carry a prefix (`generator.`, `G.`, Lightning's `generator.`), which is stripped
 * when `probe` (a key the network must have) is found under it.
 */
export function readWeights(
  path: string, dirFile: string, probe: string, convert: (m: TensorMap) => TensorMap = (m) => m,
): { tensors: TensorMap; source: string } {
  if (!existsSync(path)) throw new ModelLoadError(`weights '${path}' do not exist`);
  const file = statSync(path).isDirectory() ? join(path, dirFile) : path;
  if (!existsSync(file)) throw new ModelLoadError(`'${path}' is a directory without ${dirFile} (expected a checkpoint directory)`);
  const ext = extname(file).toLowerCase();
  // PyTorch / Lightning checkpoints are read by a restricted unpickler that
  // never imports or runs anything (src/io/pickle.ts).
  const tensors = convert(ext === '.ckpt' || ext === '.pth' || ext === '.pt'
    ? readTorchCheckpoint(file, file).tensors
    : decodeSafetensors(readFileSync(file), file).tensors);
  if (tensors.has(probe)) return { tensors, source: file };
  for (const prefix of ['generator.', 'G.', 'discriminator.', 'D.', 'model.', 'net.', 'module.']) {
    const stripped: TensorMap = new Map();
    for (const [k, v] of tensors) if (k.startsWith(prefix)) stripped.set(k.slice(prefix.length), v);
    const converted = convert(stripped);
    if (converted.has(probe)) return { tensors: converted, source: file };
  }
  throw new ModelLoadError(`'${file}' has no tensor '${probe}' (found ${[...tensors.keys()].slice(0, 3).join(', ')}${tensors.size > 3 ? ', ...' : ''})`);
}
