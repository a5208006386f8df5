/**
 * `ganon eval emotion` (Tables 2, 3) and `ganon eval emotion-training` (Table 4).
 * src/cli.ts adds them to the `eval` command with `emotionCommands(y)`.
 */
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { BACKEND_NAMES, backendLine, initBackend } from '../backend/index.js';
import { loadClassifierConfig } from '../config/classifier.js';
import { InputError } from '../errors.js';
import { loadClassifier } from './classifier-model.js';
import { loadProxyEmotion } from './emotion-proxy.js';
import { runEmotionEval } from './emotion-run.js';
import { runEmotionTraining } from './emotion-training.js';
import { formatReport } from './classification-report.js';
import { parseMethodArg } from './identity-run.js';
import type { ImagePredictor } from './predictor.js';
import { readFileSync } from 'node:fs';

async function loadPredictor(spec: string): Promise<ImagePredictor> {
  if (spec === 'proxy') {
    const m = await loadProxyEmotion();
    return { name: m.name, proxy: true, kind: 'multiclass', weightsSha256: m.weightsSha256, classes: m.classes, predict: (x) => m.predict(x), dispose: () => m.dispose() };
  }
  return loadClassifier(spec);
}

const list = (v: unknown) => (v === undefined ? [] : (v as string[]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean));

export function emotionCommands(y: Argv) {
  return y
    .command('emotion', "emotion preservation: class probabilities of originals vs each method, mean |dp| (Table 2) and Wilcoxon vs a reference (Table 3)", (a) => a
      .option('original', { type: 'string', describe: 'folder of original face crops (recursive); not needed with --predictions' })
      .option('method', { type: 'string', array: true, default: [] as string[], describe: 'NAME=DIR, repeatable: a method\'s outputs, matched by name (0_<name> crops or the same path)' })
      .option('baselines', { type: 'string', array: true, describe: 'baselines computed here on the original crops: pixelate:16,blur:17,mask' })
      .option('classifier', { type: 'string', default: 'proxy', describe: "'proxy' (embedded FER2013 model, a stand-in for the paper's ConvNeXt) or a ganon classifier run directory" })
      .option('predictions', { type: 'string', describe: 'CSV/Arrow with image, method, class, p (originals: method original) instead of a classifier' })
      .option('classes', { type: 'string', describe: "the dataset's classes (comma-separated): the classifier's are mapped onto them by name; ones it lacks are listed as unavailable" })
      .option('reference', { type: 'string', describe: 'method the others are tested against (default: the first)' })
      .option('dataset', { type: 'string', describe: 'dataset name for the tables (e.g. AffectNet)' })
      .option('split', { type: 'string', describe: 'split name for the tables (e.g. val)' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: emotion.arrow, table2.md, table3.md, run.json' })
      .option('json', { type: 'boolean', default: false, describe: 'print Table 2 and Table 3 as JSON' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES }),
    async (a) => {
      const methods = (a.method as string[]).map(parseMethodArg);
      const predictions = a.predictions as string | undefined;
      let predictor: ImagePredictor | undefined;
      if (predictions === undefined) {
        const b = await initBackend(a.backend);
        process.stderr.write(`${backendLine(b)}\n`);
        predictor = await loadPredictor(a.classifier);
        process.stderr.write(`classifier: ${predictor.name}${predictor.proxy ? ' (PROXY)' : ''}\n`);
      } else if (a.baselines) {
        throw new InputError('--baselines need a classifier; with --predictions give their predictions in the file');
      }
      try {
        const run = await runEmotionEval({
          original: a.original, methods, baselines: list(a.baselines), predictor, predictions, reference: a.reference,
          classes: a.classes ? list([a.classes]) : undefined, dataset: a.dataset, split: a.split, outDir: a.out,
          onProgress: (stage, done, total) => process.stderr.write(`\r${stage} ${done}/${total}${done === total ? '\n' : ''}`),
        });
        for (const [m, c] of Object.entries(run.counts)) {
          if (c.missing + c.error + c.extra > 0) process.stderr.write(`${m}: ${c.ok} ok, ${c.missing} missing, ${c.error} errors, ${c.extra} extra files\n`);
        }
        if (a.json) process.stdout.write(`${JSON.stringify({ table2: run.table2, table3: run.table3, counts: run.counts, unavailable: run.unavailable }, null, 2)}\n`);
        else process.stdout.write(`${readFileSync(join(a.out, 'table2.md'), 'utf8')}\n${readFileSync(join(a.out, 'table3.md'), 'utf8')}`);
      } finally {
        predictor?.dispose();
      }
    })
    .command('emotion-training', 'Table 4: one classifier per method trained on its anonymized train split, each scored on the ORIGINAL val split', (a) => a
      .option('data', { type: 'string', describe: 'the original labelled dataset (ganon preprocess output or ImageFolder)' })
      .option('method', { type: 'string', array: true, default: [] as string[], describe: "NAME=DIR, repeatable: the method's anonymized images of --data (matched by name)" })
      .option('config', { type: 'string', describe: 'classifier config (configs/classifier-emotion.yaml)' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key' })
      .option('pretrained', { type: 'string', describe: 'ImageNet ConvNeXt weights for every classifier (.pth / .safetensors)' })
      .option('predictions', { type: 'string', describe: 'CSV/Arrow with image, method, class, p, label (val split predictions made elsewhere) instead of training' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: one classifier run per method, run.json, confusion.arrow, table4.md' })
      .option('json', { type: 'boolean', default: false, describe: 'print the reports as JSON' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES }),
    async (a) => {
      const methods = (a.method as string[]).map(parseMethodArg);
      let backendName = 'none';
      if (a.predictions === undefined) {
        const b = await initBackend(a.backend);
        process.stderr.write(`${backendLine(b)}\n`);
        backendName = b.name;
      }
      const config = a.predictions === undefined ? loadClassifierConfig(a.config, [...(a.set as string[]), 'task=emotion']) : undefined;
      const r = await runEmotionTraining({ data: a.data, methods, config, pretrained: a.pretrained, predictions: a.predictions, outDir: a.out, backend: backendName, out: process.stderr });
      if (a.json) process.stdout.write(`${readFileSync(join(a.out, 'run.json'), 'utf8')}`);
      else for (const m of r.methods) process.stdout.write(`trained on ${m}:\n${formatReport(r.reports[m]!, 2)}\n`);
    });
}
