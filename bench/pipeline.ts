/**
 * `npm run bench:pipeline [-- --backend B] [-- --faces N]`: faces per second of
 * (a) preprocessing (detect + align + letterbox + mesh on the crop) and
 * (b) anonymization with the full paper generator (random weights: speed only),
 * both at 512 px on astronaut.png copies, single process, with what
 * `ganon anonymize` does by default on a CPU (batch 1; faces found on a second
 * thread on 'tensorflow', in this thread elsewhere). Prints JSON.
 */
import { copyFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/backend/index.js';
import { decodeImage } from '../src/io/images.js';
import { Params, referenceInit } from '../src/models/params.js';
import { PAPER_UNET, unetSpecs } from '../src/models/unet.js';
import { extractFaces } from '../src/pipeline/faces.js';
import { anonymize } from '../src/pipeline/anonymize.js';
import { startPrepThread } from '../src/pipeline/prep-thread.js';

const args = await yargs(hideBin(process.argv))
  .option('backend', { type: 'string' }).option('faces', { type: 'number', default: 6 }).option('batch', { type: 'number' }).option('prep-thread', { type: 'boolean' }).strict().parseAsync();
const info = await initBackend(args.backend);
const img = await decodeImage('test/.cache/astronaut.png');
const face = { size: 512, margin: 0, detect: { minScore: 0.5, maxFaces: 5 } };
await extractFaces(img, face); // warm-up (model load)
let t0 = performance.now();
for (let i = 0; i < args.faces; i++) await extractFaces(img, face);
const preprocessFacesPerSec = args.faces / ((performance.now() - t0) / 1000);

const dir = mkdtempSync(join(tmpdir(), 'ganon-bench-'));
mkdirSync(join(dir, 'in'));
for (let i = 0; i < args.faces; i++) copyFileSync('test/.cache/astronaut.png', join(dir, 'in', `a${i}.png`));
const params = new Params(unetSpecs(PAPER_UNET), referenceInit(1));
const generator = { cfg: PAPER_UNET, params, source: 'random', dispose: () => params.dispose() };
const native = info.name === 'tensorflow';
const prep = (args.prepThread ?? native) ? await startPrepThread(face, 'wasm') : null;
const batch = args.batch ?? 1;
const opts = { method: { kind: 'ganonymization' as const }, face, generator, noFace: 'skip' as const, overwrite: true, toolkitVersion: 'bench', backend: info.name, batch, extractor: prep?.extract };
await anonymize([join(dir, 'in', 'a0.png')], join(dir, 'warm'), opts);
t0 = performance.now();
await anonymize([join(dir, 'in')], join(dir, 'out'), opts);
const anonymizeFacesPerSec = args.faces / ((performance.now() - t0) / 1000);
generator.dispose();
await prep?.close();
console.log(JSON.stringify({ backend: info.name, imageSize: 512, faces: args.faces, batch, prepThread: prep !== null, preprocessFacesPerSec: +preprocessFacesPerSec.toFixed(2), anonymizeFacesPerSec: +anonymizeFacesPerSec.toFixed(2) }));
