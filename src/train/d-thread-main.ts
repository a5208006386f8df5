/**
 * The discriminator thread (src/train/d-thread.ts): its own TF.js engine, a
 * copy of D and D's Adam; requests: init, step (the D step of src/train/step.ts
 * on a given fake; replies loss_D and D's new weights), state, loadState.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import type { TensorMap } from '../io/safetensors.js';
import { fromTorchMap, Params } from '../models/params.js';
import { patchganSpecs, type PatchGanConfig } from '../models/patchgan.js';
import { serveRequests } from '../util/thread.js';
import { Adam, type AdamConfig } from './adam.js';
import { dStep, type GanSetup } from './step.js';

let D: Params | null = null;
let optD: Adam | null = null;
let dCfg: PatchGanConfig | null = null;

serveRequests(parentPort!, async (msg) => {
  switch (msg.type) {
    case 'init': {
      await initBackend(msg.backend as string);
      dCfg = msg.dCfg as PatchGanConfig;
      D = new Params(patchganSpecs(dCfg), fromTorchMap(msg.weights as TensorMap, 'main thread'), 'D');
      optD = new Adam(D, msg.adam as AdamConfig);
      return [{}];
    }
    case 'step': {
      const shape = msg.shape as [number, number, number, number];
      const [fake, real, cond] = (['fake', 'real', 'cond'] as const).map((k) => tf.tensor4d(msg[k] as Float32Array, shape));
      const setup = { D, dCfg, optD } as unknown as GanSetup;
      const loss = dStep(setup, { real: real!, cond: cond! }, fake!);
      const value = (await loss.data())[0]!;
      tf.dispose([fake!, real!, cond!, loss]);
      // copies: the cpu backend's dataSync returns the variable's storage, which a transfer would detach
      const params = D!.specs.map((s) => (D!.get(s.name).dataSync() as Float32Array).slice());
      return [{ loss: value, params }, params.map((p) => p.buffer as ArrayBuffer)];
    }
    case 'state':
      return [{ state: await optD!.stateTensors(msg.prefix as string) }];
    case 'loadState': {
      // the main thread's D (read from the checkpoint) and D's Adam state
      const w = fromTorchMap(msg.weights as TensorMap, msg.source as string);
      tf.tidy(() => { for (const s of D!.specs) D!.get(s.name).assign(tf.tensor(w(s), D!.get(s.name).shape)); });
      optD!.loadState(msg.map as TensorMap, msg.prefix as string, msg.step as number, msg.source as string);
      return [{}];
    }
    default:
      throw new Error(`unknown request '${String(msg.type)}'`);
  }
});
