/**
 * Loading TF.js graph models from local files only. A `file://` load router
 * reads `model.json` and its weight shards with fs; there is no other loader,
 * so nothing in the toolkit can fetch a model over the network.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelLoadError } from '../errors.js';

interface ModelJson {
  modelTopology?: unknown; format?: string; generatedBy?: string; convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  signature?: unknown; userDefinedMetadata?: Record<string, {}>;
}

/** An IOHandler that reads a model.json and its shards from disk. */
export function fileHandler(path: string): tf.io.IOHandler {
  return {
    async load() {
      if (!existsSync(path)) throw new ModelLoadError(`model file '${path}' does not exist`);
      let json: ModelJson;
      try {
        json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
      } catch (e) {
        throw new ModelLoadError(`model file '${path}' is not valid JSON: ${(e as Error).message}`);
      }
      const dir = dirname(path);
      const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p))));
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy ?? null,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        signature: json.signature as tf.io.ModelArtifacts['signature'],
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}

let routed = false;
/** Routes `file://` model URLs (as used by model libraries such as Human) to fileHandler. Idempotent. */
export function registerFileModelLoader(): void {
  if (routed) return;
  tf.io.registerLoadRouter(((url: string | string[]) => {
    const u = Array.isArray(url) ? url[0] : url;
    if (typeof u !== 'string' || !u.startsWith('file://')) return null;
    // tfjs-node registers its own file:// router on import; two matching
    // handlers make tfjs refuse to load, so defer to it when it is present.
    if (tf.findBackendFactory('tensorflow') !== null) return null;
    return fileHandler(decodeURI(u.slice('file://'.length)));
  }) as unknown as Parameters<typeof tf.io.registerLoadRouter>[0]);
  routed = true;
}
