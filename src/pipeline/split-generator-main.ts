/**
 * The generator's peer thread (src/pipeline/split-generator.ts): its own TF.js
 * engine and the second half of every layer's weights; for each forward it
 * runs part 1 of src/models/unet-split.ts, swapping halves with the main thread.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../backend/index.js';
import { splitWeightsFrom, unetForwardSplit, type SplitWeightData, type SplitWeights } from '../models/unet-split.js';
import { HalfMailbox } from './split-generator.js';
import type { UNetConfig } from '../models/unet.js';

const port = parentPort!;
let cfg: UNetConfig | null = null;
let w1: SplitWeights | null = null;
const mail = new HalfMailbox((msg, transfer) => port.postMessage(msg, transfer));
let chain = Promise.resolve();

port.on('message', (m: { type: string; id?: number; step?: number; data?: Float32Array; backend?: string; cfg?: UNetConfig; half?: SplitWeightData; x?: Float32Array; shape?: number[] }) => {
  if (m.type === 'half') {
    mail.deliver(m.id!, m.step!, m.data!);
    return;
  }
  chain = chain.then(async () => {
    try {
      if (m.type === 'init') {
        await initBackend(m.backend!);
      } else if (m.type === 'weights') {
        cfg = m.cfg!;
        w1?.dispose();
        w1 = splitWeightsFrom(m.half!, cfg);
        port.postMessage({ type: 'ready' });
      } else if (m.type === 'forward') {
        const x = tf.tensor4d(m.x!, m.shape as [number, number, number, number]);
        await unetForwardSplit(w1!, cfg!, x, mail.exchange(m.id!));
        x.dispose();
      }
    } catch (e) {
      port.postMessage({ type: 'error', message: (e as Error).message });
    }
  });
});
