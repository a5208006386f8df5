/**
 * `ganon classifier train|predict`: the paper's ConvNeXt emotion / attribute
 * classifiers. src/cli.ts mounts it with
 *   .command('classifier', '...', classifierCommand)
 */
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { Argv } from 'yargs';
import { BACKEND_NAMES, backendLine, initBackend } from './backend/index.js';
import { loadClassifierConfig } from './config/classifier.js';
import { InputError } from './errors.js';
import { loadClassifier } from './eval/classifier-model.js';
import { listImages } from './eval/match.js';
import { writeFileAtomic } from './io/fs.js';
import { decodeImage, type RgbImage } from './io/images.js';
import { existsSync } from 'node:fs';
import { openClassifierData } from './train/classifier-data.js';
import { readClassifierRun, trainClassifier } from './train/classifier.js';
import { interruptSignal } from './util/interrupt.js';
import { Progress } from './util/progress.js';


export function classifierCommand(y: Argv) {
  return y
    .command('train', 'train a ConvNeXt emotion or attribute classifier (the paper\'s recipe)', (a) => a
      .option('data', { type: 'string', demandOption: true, describe: 'ganon preprocess output (manifest.arrow + faces/) or an ImageFolder (train/<class>/*, val/<class>/*)' })
      .option('images', { type: 'string', describe: "take the pixels from this anonymizer output folder (matched by name: '0_<id>.png' or '<id>.png'), labels from --data" })
      .option('task', { type: 'string', choices: ['emotion', 'attributes'], describe: 'overrides the config\'s task' })
      .option('arch', { type: 'string', describe: 'overrides the config\'s arch (convnext_base, convnext_tiny, ..., convnext_micro)' })
      .option('classes', { type: 'string', describe: 'comma-separated class names in order (default: sorted names found in the data)' })
      .option('pretrained', { type: 'string', describe: 'torchvision/timm ConvNeXt weights (.pth or .safetensors, e.g. ImageNet); the head is replaced' })
      .option('config', { type: 'string', describe: 'YAML config (configs/classifier-emotion.yaml, configs/classifier-attributes.yaml)' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key: --set train.batchSize=32' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory (best/, last/, epochs.arrow, train.log)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue after the last finished epoch in --out' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES }),
    async (a) => {
      const sets = [...(a.set as string[])];
      if (a.task) sets.push(`task=${a.task}`);
      if (a.arch) sets.push(`arch=${a.arch}`);
      const config = loadClassifierConfig(a.config, sets);
      const b = await initBackend(a.backend);
      process.stderr.write(`${backendLine(b)}\n`);
      const r = await trainClassifier({
        config, dataDir: a.data, imagesDir: a.images, classes: a.classes ? a.classes.split(',').map((s) => s.trim()) : undefined,
        outDir: a.out, pretrained: a.pretrained, resume: a.resume, backend: b.name, signal: interruptSignal('stopping after this batch; --resume continues from the last finished epoch'),
      });
      const text = `${r.status} after ${r.epochs.length} epochs; best val loss ${r.bestValLoss.toFixed(4)} at epoch ${r.bestEpoch}\nbest: ${join(a.out, 'best')}\nlog: ${join(a.out, 'epochs.arrow')}`;
      process.stdout.write(a.json ? `${JSON.stringify(r, null, 2)}\n` : `${text}\n`);
      if (r.status === 'interrupted') process.exitCode = 130;
    })
    .command('predict', 'class probabilities of a trained classifier for every image', (a) => a
      .option('model', { type: 'string', demandOption: true, describe: 'classifier run directory (its best/ checkpoint)' })
      .option('data', { type: 'string', demandOption: true, describe: 'a labelled dataset (as for train) or any folder of images' })
      .option('split', { type: 'string', describe: 'only this split of a labelled dataset (train, val, test)' })
      .option('method', { type: 'string', default: 'original', describe: "value of the 'method' column, so files of several methods concatenate into an eval --predictions file" })
      .option('out', { type: 'string', demandOption: true, describe: 'Arrow file: image, method, split, label, class (attribute for the attributes task), p, status; one row per image and class' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES }),
    async (a) => {
      const b = await initBackend(a.backend);
      process.stderr.write(`${backendLine(b)}\n`);
      const { state } = readClassifierRun(a.model);
      const rows = listPredictionInputs(a.data, state.task, state.classes, a.split);
      const model = await loadClassifier(a.model);
      const cols = { image: [] as string[], method: [] as string[], split: [] as string[], label: [] as string[], class: [] as string[], p: [] as number[], status: [] as string[] };
      const bar = new Progress(rows.length, 'predict');
      let errors = 0;
      try {
        for (let i = 0; i < rows.length; i += 32) {
          const chunk = rows.slice(i, i + 32);
          const decoded = await Promise.allSettled(chunk.map((r) => decodeImage(r.path)));
          const ok: RgbImage[] = [];
          decoded.forEach((d) => d.status === 'fulfilled' && ok.push(d.value));
          const probs = ok.length ? await model.predict(ok) : [];
          let k = 0;
          decoded.forEach((d, j) => {
            const r = chunk[j]!;
            const p = d.status === 'fulfilled' ? probs[k++]! : null;
            if (p === null) {
              errors += 1;
              process.stderr.write(`error: ${r.id}: ${(d as PromiseRejectedResult).reason instanceof Error ? ((d as PromiseRejectedResult).reason as Error).message : 'cannot decode'}\n`);
            }
            model.classes.forEach((c, ci) => {
              cols.image.push(r.id); cols.method.push(a.method); cols.split.push(r.split); cols.label.push(r.label(ci)); cols.class.push(c);
              cols.p.push(p === null ? Number.NaN : p[ci]!); cols.status.push(p === null ? 'error' : 'ok');
            });
          });
          bar.update(Math.min(i + 32, rows.length));
        }
      } finally {
        bar.done();
        model.dispose();
      }
      const classCol = state.task === 'attributes' ? 'attribute' : 'class';
      await writeFileAtomic(a.out, tableToIPC(tableFromArrays({
        image: cols.image, method: cols.method, split: cols.split, label: cols.label, [classCol]: cols.class, p: Float64Array.from(cols.p), status: cols.status,
      }), 'file'));
      process.stdout.write(`${rows.length} images (${errors} errors), ${model.classes.length} classes -> ${a.out}\n`);
      if (rows.length > 0 && errors === rows.length) process.exitCode = 3;
    })
    .demandCommand(1, 'name a classifier subcommand: train or predict');
}

interface PredictionInput { id: string; path: string; split: string; label: (classIndex: number) => string }

function listPredictionInputs(dir: string, task: 'emotion' | 'attributes', classes: string[], split: string | undefined): PredictionInput[] {
  const labelled = existsSync(join(dir, 'manifest.arrow')) || ['train', 'val'].some((s) => existsSync(join(dir, s)));
  if (labelled) {
    try {
      const data = openClassifierData(dir, { task, classes });
      const items = split ? data.items.filter((i) => i.split === split) : data.items;
      if (items.length === 0) throw new InputError(`'${dir}' has no images in split '${split}'`);
      return items.map((it) => ({
        id: it.id, path: it.path, split: it.split,
        label: (c) => (typeof it.label === 'number' ? (it.label === c ? '1' : '0') : String((it.label as Uint8Array)[c])),
      }));
    } catch (e) {
      if (e instanceof InputError) throw e;
      // not a labelled layout after all: fall back to a plain folder
    }
  }
  const files = listImages(dir);
  if (files.length === 0) throw new InputError(`'${dir}' has no images`);
  return files.map((rel) => ({ id: rel, path: join(dir, rel), split: '', label: () => '' }));
}
