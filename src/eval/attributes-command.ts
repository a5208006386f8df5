/**
 * `ganon eval attributes` (paper Tables 5 and 6). src/cli.ts mounts it next to
 * `eval identity`:
 *   .command('eval', '...', (y) => attributesCommand(identityCommand(y)))
 * The trained classifier is loaded by `loadClassifier(runDir)` of
 * src/eval/classifier-model.ts, imported only when --classifier is given, so a
 * predictions file needs no model code, weights or backend.
 */
import type { Argv } from 'yargs';
import { BACKEND_NAMES, backendLine, initBackend } from '../backend/index.js';
import { InputError } from '../errors.js';
import { removalJson } from './attributes.js';
import { runAttributesEval } from './attributes-run.js';
import { parseMethodArg } from './identity-run.js';
import type { ImagePredictor } from './predictor.js';

/** The trained multi-label classifier of a `ganon classifier train` run directory (model code loaded only here). */
export async function loadAttributeClassifier(runDir: string): Promise<ImagePredictor> {
  const { loadClassifier } = await import('./classifier-model.js');
  return loadClassifier(runDir);
}

/** Splits `--baselines pixelate:8,blur:17 mask` (commas and/or repeats). */
export function parseBaselines(values: readonly string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function attributesCommand(y: Argv) {
  return y.command('attributes',
    'attribute removal rates (paper Table 6) and, with --labels, the classifier\'s multi-label report on the originals (Table 5)',
    (a) => a
      .option('original', { type: 'string', describe: 'directory of the original (aligned) face crops, recursive; required with --classifier' })
      .option('method', { type: 'string', array: true, describe: 'NAME=DIR, repeatable: outputs named 0_{basename}, the same path, or another extension' })
      .option('baselines', { type: 'string', array: true, describe: 'baselines computed from the original crops on the fly, e.g. pixelate:8,pixelate:16,blur:9,blur:17,mask' })
      .option('classifier', { type: 'string', describe: 'a multi-label classifier run directory (ganon classifier train --task attributes)' })
      .option('predictions', { type: 'string', describe: 'CSV or Arrow with columns image, method, attribute, p (originals: method "original"); no classifier needed' })
      .option('labels', { type: 'string', describe: 'ground truth of the originals for Table 5: a CelebA manifest.arrow, or a CSV/Arrow with image + one 0/1 (or -1/1) column per attribute' })
      .option('split', { type: 'string', describe: 'only labels of this split count for Table 5 (e.g. val, as in the paper)' })
      .option('batch-size', { type: 'number', default: 32, describe: 'images per classifier call' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory: attributes.arrow, table6.md, table5.md (with --labels), run.json' })
      .option('backend', { type: 'string', choices: BACKEND_NAMES })
      .option('json', { type: 'boolean', default: false, describe: 'print the removal counts and rates per method and attribute as JSON' }),
    async (a) => {
      const methods = ((a.method as string[] | undefined) ?? []).map(parseMethodArg);
      const baselines = parseBaselines(a.baselines as string[] | undefined);
      if (a.classifier && a.predictions) throw new InputError('give --classifier RUN or --predictions FILE, not both');
      if (!a.classifier && !a.predictions) throw new InputError('give --classifier RUN (a trained multi-label classifier) or --predictions FILE');
      let predictor: ImagePredictor | undefined;
      if (a.classifier) {
        if (!a.original) throw new InputError('--original DIR is required with --classifier');
        const b = await initBackend(a.backend);
        if (!a.json) process.stderr.write(`${backendLine(b)}\n`);
        predictor = await loadAttributeClassifier(a.classifier);
      }
      try {
        const run = await runAttributesEval({
          original: a.original, methods, baselines, predictor, predictions: a.predictions, outDir: a.out,
          labels: a.labels, split: a.split, batchSize: a.batchSize,
          onProgress: a.json ? undefined : (stage, done, total) => process.stderr.write(`[${stage}] ${done}/${total}\n`),
        });
        const written = ['attributes.arrow', 'table6.md', ...(run.table5 ? ['table5.md'] : []), 'run.json'].map((f) => `${a.out}/${f}`);
        if (a.json) {
          const out = {
            classifier: run.runJson.classifier, attributes: run.attributes, methods: removalJson(run.removal),
            pairs: run.runJson.pairs, originals: run.counts.originals, counts: run.counts.methods, table5: run.runJson.table5, out: a.out, files: written,
          };
          process.stdout.write(`${JSON.stringify(out, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
        } else {
          process.stdout.write(`${run.table5 ? `${run.table5}\n` : ''}${run.table6}\nwrote ${written.join(', ')}\n`);
        }
        if (run.removal.methods.every((m) => m.pairs === 0)) process.exitCode = 3;
      } finally {
        predictor?.dispose();
      }
    });
}
