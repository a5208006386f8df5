/**
 * `ganon`: the one CLI. Handlers parse, call a library function, print.
 * A ToolkitError exits 2 with its one-line message; anything else exits 1 with a stack.
 */
import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { BACKEND_NAMES, backendLine, initBackend, runsOneThread, type BackendInfo } from './backend/index.js';
import { loadTrainConfig } from './config/train.js';
import { ToolkitError, InputError } from './errors.js';
import { decodeImage, writePng } from './io/images.js';
import { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
import { writeFileAtomic } from './io/fs.js';
import { ARCH_NAMES, summary } from './models/registry.js';
import { runNetwork } from './models/run.js';
import { extractFaces, DEFAULT_FACE_OPTIONS } from './pipeline/faces.js';
import { LANDMARK_CLI_OPTIONS, withLandmarker } from './pipeline/landmarks.js';
import { generateFaces, loadGenerator } from './pipeline/generate.js';
import { parseLandmarksJson, landmarksToJson } from './pipeline/points.js';
import { renderLandmarks } from './pipeline/render.js';
import { anonymize, mergeAnonymizeManifests, parseMethod, sha256File, listInputs, writeManifestJson } from './pipeline/anonymize.js';
import { parseShard } from './pipeline/preprocess.js';
import { defaultWorkers, runWorkers } from './util/workers.js';
import { startPrepThread } from './pipeline/prep-thread.js';
import { canSplitUNet, spawnSplitPeer } from './pipeline/split-generator.js';
import { statsCommand } from './eval/stats-command.js';
import { embedCommand, embedHandler, identityCommand } from './eval/identity-command.js';
import { attributesCommand } from './eval/attributes-command.js';
import { emotionCommands } from './eval/emotion-command.js';
import { importCheckpoint } from './io/import-checkpoint.js';
import { preprocessCommand, preprocessHandler } from './preprocess-command.js';
import { reportCommand, reportHandler } from './report/command.js';
import { classifierCommand } from './classifier-command.js';
import { runSetupNative } from './setup.js';
import { train } from './train/loop.js';
import { interruptSignal } from './util/interrupt.js';
import { gitCommit, toolkitVersion } from './util/provenance.js';

const backendOpt = {
  backend: { type: 'string', choices: BACKEND_NAMES, describe: 'TF.js backend (default: env GANON_BACKEND, else auto)' },
} as const;

async function backend(name: string | undefined, quiet = false): Promise<BackendInfo> {
  const info = await initBackend(name);
  if (!quiet) process.stderr.write(`${backendLine(info)}\n`);
  return info;
}

function print(json: boolean, data: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

const STOP_AFTER_STEP = 'stopping after this step and writing a checkpoint';

function modelCommands(y: Argv) {
  return y
    .command('summary', 'parameter counts and output shapes of the paper networks', (a) => a
      .option('image-size', { type: 'number', default: 512, describe: 'input side (a multiple of 256)' })
      .option('json', { type: 'boolean', default: false }),
    (a) => {
      const s = summary(a.imageSize);
      print(a.json, s, () => [
        `image size ${s.imageSize}`,
        `generator      ${s.generator.params.toLocaleString('en-US')} params, output [${s.generator.output}]`,
        `discriminator  ${s.discriminator.params.toLocaleString('en-US')} params, output [${s.discriminator.output}]`,
      ].join('\n'));
    })
    .command('run', 'run one network in eval mode on a float32 NCHW tensor (parity checks against PyTorch)', (a) => a
      .option('arch', { type: 'string', choices: ARCH_NAMES, demandOption: true, describe: "network (patchgan takes the 6-channel image+condition concat; convnext_* output logits [n, classes]; facenet512 takes [n,3,160,160] BGR in [0,1] after DeepFace's preprocessing and outputs embeddings [n,512])" })
      .option('weights', { type: 'string', demandOption: true, describe: ".safetensors / .pth / .ckpt in PyTorch (torchvision or timm) names, or a checkpoint directory; facenet512: DeepFace's facenet512_weights.h5" })
      .option('num-classes', { type: 'number', describe: 'ConvNeXt: classes of the head; a head of another size in the weights is replaced' })
      .option('input', { type: 'string', demandOption: true, describe: '.safetensors with a float32 tensor "input" [n,c,h,w]' })
      .option('out', { type: 'string', demandOption: true, describe: '.safetensors to write "output" [n,c,h,w] to' })
      .option('image-size', { type: 'number', describe: 'expected input side (checked against the input tensor)' })
      .options(backendOpt),
    async (a) => {
      await backend(a.backend);
      const input = decodeSafetensors(readFileSync(a.input), a.input).tensors;
      const side = input.get('input')?.shape[2];
      if (a.imageSize !== undefined && side !== a.imageSize) throw new ToolkitError(`--image-size ${a.imageSize} but '${a.input}' is ${side} px`);
      const out = await runNetwork(a.arch, a.weights, input, a.input, { numClasses: a.numClasses, log: (l) => process.stderr.write(`${l}\n`) });
      await writeFileAtomic(a.out, encodeSafetensors(out, { arch: a.arch, weights: a.weights }));
      process.stderr.write(`wrote ${a.out}: output [${out.get('output')!.shape}]\n`);
    })
    .demandCommand(1, 'name a model subcommand: summary or run');
}

export function buildCli(argv: string[]) {
  return yargs(argv)
    .scriptName('ganon')
    .usage('$0 <command> [options]\n\nGANonymization in TypeScript: landmarks in, a new face out.')
    .command('info', 'toolkit version, commit and the backend that would run', (a) => a
      .option('json', { type: 'boolean', default: false }).options(backendOpt),
    async (a) => {
      const b = await backend(a.backend, true);
      const data = { version: toolkitVersion(), commit: gitCommit(), node: process.version, backend: b };
      print(a.json, data, () => `ganon ${data.version} (${data.commit})\nnode ${data.node}\n${backendLine(b)}${b.fallbacks.length ? `\nnot used: ${b.fallbacks.join('; ')}` : ''}`);
    })
    .command('model', 'inspect and run the networks', modelCommands)
    .command('train', 'train the pix2pix generator on a paired dataset', (a) => a
      .option('config', { type: 'string', describe: 'YAML config (configs/paper.yaml, configs/smoke.yaml)' })
      .option('data', { type: 'string', demandOption: true, describe: 'dataset dir: ganon preprocess output, or train/ val/ of side-by-side pairs' })
      .option('out', { type: 'string', demandOption: true, describe: 'run directory (checkpoints, logs, samples)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue from the newest checkpoint in --out' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a config key: --set train.batchSize=8' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .option('d-thread', { type: 'boolean', describe: "run the D step on a second thread while G back-propagates; same numbers (default: on with wasm/cpu and discriminatorFake 'reuse')" })
      .options(backendOpt),
    async (a) => {
      const config = loadTrainConfig(a.config, a.set);
      const b = await backend(a.backend);
      const r = await train({ config, dataDir: a.data, outDir: a.out, resume: a.resume, backend: b.name, signal: interruptSignal(STOP_AFTER_STEP), dThread: a.dThread });
      print(a.json, r, () => `${r.status} at step ${r.step}\ncheckpoint: ${r.lastCheckpoint}\nsamples: ${r.samples.at(-1) ?? 'none'}\nlog: ${a.out}/steps.arrow`);
      if (r.status === 'interrupted') process.exitCode = 130;
    })
    .command('generate', 'synthesise a face from a landmark image', (a) => a
      .option('weights', { type: 'string', demandOption: true, describe: 'generator .safetensors or a checkpoint directory' })
      .option('condition', { type: 'string', demandOption: true, describe: 'landmark image (S x S PNG, as rendered by the pipeline)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output PNG' })
      .options(backendOpt),
    async (a) => {
      await backend(a.backend);
      const g = loadGenerator(a.weights);
      try {
        const cond = await decodeImage(a.condition);
        const [face] = await generateFaces(g, [cond]);
        await writePng(a.out, face!);
        process.stderr.write(`wrote ${a.out} (${face!.width}x${face!.height})\n`);
      } finally {
        g.dispose();
      }
    })
    .command('landmarks <image>', 'detect, align, letterbox and render the 478-point landmark image the generator sees', (a) => a
      .positional('image', { type: 'string', demandOption: true, describe: 'a photo (or, with --from-json, a points file)' })
      .option('out', { type: 'string', demandOption: true, describe: 'landmark image PNG to write' })
      .option('size', { type: 'number', default: 512, describe: 'side S of the letterboxed face and landmark image' })
      .option('face', { type: 'number', default: 0, describe: 'which detected face (0 = first)' })
      .option('margin', { type: 'number', default: 0, describe: 'extra margin around the face box (fraction of its sides)' })
      .option('min-score', { type: 'number', default: DEFAULT_FACE_OPTIONS.detect.minScore, describe: 'face detector threshold' })
      .option('crop-out', { type: 'string', describe: 'also write the aligned, letterboxed face crop (PNG)' })
      .option('from-json', { type: 'boolean', default: false, describe: 'render points from a JSON file (as --json prints) instead of a photo' })
      .option('json', { type: 'boolean', default: false, describe: 'print every face (box, angle, 478 points) as JSON' })
      .options(LANDMARK_CLI_OPTIONS)
      .options(backendOpt),
    async (a) => {
      if (a.fromJson) {
        const points = parseLandmarksJson(readFileSync(a.image, 'utf8'), a.image, a.face);
        await writePng(a.out, renderLandmarks(points, a.size));
        process.stderr.write(`wrote ${a.out} (${a.size}x${a.size})\n`);
        return;
      }
      await backend(a.backend);
      const img = await decodeImage(a.image);
      const detect = { ...DEFAULT_FACE_OPTIONS.detect, minScore: a.minScore };
      const faces = await withLandmarker(a.landmarks, { detect, mediapipeModel: a.mediapipeModel },
        (landmarker) => extractFaces(img, { size: a.size, margin: a.margin, detect, landmarker }), (l) => process.stderr.write(`${l}\n`));
      if (a.json) process.stdout.write(`${JSON.stringify({ image: a.image, size: a.size, faces: faces.map(landmarksToJson) })}\n`);
      const f = faces[a.face];
      if (f === undefined) throw new ToolkitError(faces.length === 0 ? `no face found in '${a.image}'` : `--face ${a.face} but only ${faces.length} face(s) found in '${a.image}'`);
      await writePng(a.out, renderLandmarks(f.landmarks ?? new Float32Array(0), a.size));
      if (a.cropOut) await writePng(a.cropOut, f.image);
      process.stderr.write(`${faces.length} face(s); wrote ${a.out} for face ${a.face} (score ${f.score.toFixed(2)}, angle ${((f.angle * 180) / Math.PI).toFixed(1)} deg, landmarks from the ${f.landmarkSource})\n`);
    })
    .command('anonymize <inputs..>', 'replace every face by a synthesised one (or a baseline): one S x S image per face, or inside the photo (--mode frame)', (a) => a
      .positional('inputs', { type: 'string', array: true, demandOption: true, describe: 'image files or directories (recursive; the output tree mirrors them)' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory (crop mode: faces as {faceIndex}_{name}; plus manifest.arrow)' })
      .option('method', { type: 'string', default: 'ganonymization', describe: 'ganonymization | pixelate:N | blur:K[:box] | mask' })
      .option('weights', { type: 'string', describe: 'generator weights: .safetensors, a checkpoint directory, or the authors\' Lightning .ckpt; required for ganonymization' })
      .option('weights-sha256', { type: 'string', describe: 'refuse weights whose sha256 differs' })
      .option('mode', { type: 'string', choices: ['crop', 'frame'], default: 'crop', describe: 'crop: one S x S image per face (the paper); frame: faces replaced inside the photo (same size, name and format)' })
      .option('image-size', { type: 'number', default: 512, describe: 'side S of the aligned face (must match the generator)' })
      .option('margin', { type: 'number', default: 0, describe: 'extra margin around each face box' })
      .option('no-face', { type: 'string', choices: ['skip', 'average', 'error'], default: 'skip', describe: 'images without a face: skip, write the generator\'s average face, or count as an error' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'redo files whose output exists' })
      .option('manifest-json', { type: 'boolean', default: false, describe: 'also write OUT/manifest.json (the rows of manifest.arrow as JSON)' })
      .option('workers', { type: 'number', describe: 'processes, each with its own backend and a copy of the weights; outputs identical to one worker (default: one per core, at most one per file, on wasm/cpu; 1 on tensorflow, which uses every core itself)' })
      .option('batch', { type: 'number', describe: 'faces per generator call, across files (default 32 with tfjs-node-gpu, else 1); outputs do not depend on it' })
      .option('generator-threads', { type: 'number', choices: [1, 2], describe: 'run each generator forward on 1 or 2 threads (layers split by channel; same output); default 2 on wasm/cpu when anonymize runs as one process' })
      .option('prep-thread', { type: 'boolean', describe: 'find faces (stages 1-5, wasm) on a second thread while the generator runs (default: on with the tensorflow backend and embedded landmarks); outputs do not depend on it' })
      .option('shard', { type: 'string', hidden: true, describe: 'process only files i/n (used by --workers)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
      .options(LANDMARK_CLI_OPTIONS)
      .options(backendOpt),
    async (a) => {
      const method = parseMethod(a.method);
      const b = await backend(a.backend, !!a.shard);
      const workers = a.shard ? 1 : a.workers ?? defaultWorkers(b.name, listInputs(a.inputs).length);
      if (!Number.isInteger(workers) || workers < 1) throw new InputError(`--workers must be a positive integer (got ${a.workers})`);
      if (workers > 1) {
        const pass = process.argv.slice(2).filter((x, i, arr) => !/^--workers(=|$)/.test(x) && !/^--workers$/.test(arr[i - 1] ?? '') && x !== '--json');
        process.stderr.write(`${workers} worker processes\n`);
        const outs = await runWorkers(workers, (i) => [...pass, '--shard', `${i}/${workers}`, '--json']);
        const sums = outs.map((o) => JSON.parse(o.stdout) as Record<string, number>);
        const total = (k: string) => sums.reduce((t, x) => t + (x[k] ?? 0), 0);
        await mergeAnonymizeManifests(a.out, workers);
        if (a.manifestJson) await writeManifestJson(a.out);
        const summary = { files: total('files'), faces: total('faces'), skipped: total('skipped'), errors: total('errors'), noFace: total('noFace'), succeededFiles: total('succeededFiles') };
        print(a.json, summary, () => `${summary.files} files, ${summary.faces} faces, ${summary.skipped} skipped, ${summary.errors} errors, ${summary.noFace} without a face (${workers} workers)\nmanifest: ${a.out}/manifest.arrow`);
        if (summary.files > 0 && summary.succeededFiles === 0) process.exitCode = 3;
        return;
      }
      let generator: ReturnType<typeof loadGenerator> | undefined;
      let sha: string | undefined;
      // the generator's peer thread starts loading its engine while this thread reads the weights
      const wantSplit = method.kind === 'ganonymization' && (a.generatorThreads ?? (runsOneThread(b.name) && !a.shard ? 2 : 1)) === 2;
      const peer = wantSplit ? spawnSplitPeer(b.name) : null;
      try {
        if (method.kind === 'ganonymization') {
          if (!a.weights) throw new ToolkitError('--weights is required for --method ganonymization (a generator checkpoint; see README)');
          generator = loadGenerator(a.weights);
          sha = sha256File(generator.source);
          if (a.weightsSha256 && a.weightsSha256.toLowerCase() !== sha) throw new ToolkitError(`weights '${generator.source}' have sha256 ${sha}, not ${a.weightsSha256}`);
        }
        if (peer && generator && canSplitUNet(generator.cfg)) {
          generator.split = await peer.attach(generator.params, generator.cfg);
          process.stderr.write('generator: each forward on 2 threads\n');
        } else await peer?.close();
      } catch (e) {
        await peer?.close();
        generator?.dispose();
        throw e;
      }
      const face = { size: a.imageSize, margin: a.margin, detect: DEFAULT_FACE_OPTIONS.detect };
      const usePrepThread = a.prepThread ?? (b.name === 'tensorflow' && a.landmarks === 'embedded');
      if (usePrepThread && a.landmarks !== 'embedded') throw new InputError('--prep-thread needs --landmarks embedded (MediaPipe runs in Chromium from the main thread)');
      const prep = usePrepThread ? await startPrepThread(face, 'wasm') : null;
      if (prep) process.stderr.write('faces: found on a second thread (wasm) while the generator runs\n');
      const gpu = b.native?.package.includes('gpu') ?? false;
      try {
        const { summary } = await withLandmarker(a.landmarks, { detect: DEFAULT_FACE_OPTIONS.detect, mediapipeModel: a.mediapipeModel }, (landmarker) => anonymize(a.inputs, a.out, {
          method, mode: a.mode as 'crop' | 'frame', generator, weightsSha256: sha, noFace: a.noFace as 'skip' | 'average' | 'error', overwrite: a.overwrite,
          face: { ...face, landmarker }, toolkitVersion: toolkitVersion(), backend: b.name, extractor: prep?.extract,
          shard: a.shard ? parseShard(a.shard) : undefined, batch: a.batch ?? (b.name === 'tensorflow' && gpu ? 32 : 1),
        }, (done, total, rows) => {
          for (const r of rows) if (r.status === 'error' || r.status === 'no_face') process.stderr.write(`${r.status}: ${r.input}: ${r.message}\n`);
          process.stderr.write(`[${done}/${total}] ${rows[0]?.input ?? ''}\n`);
        }), (l) => process.stderr.write(`${l}\n`));
        if (a.manifestJson && !a.shard) await writeManifestJson(a.out);
        const line = `${summary.files} files, ${summary.faces} faces, ${summary.skipped} skipped, ${summary.errors} errors, ${summary.noFace} without a face`;
        print(a.json, summary, () => `${line}\nmanifest: ${a.out}/manifest.arrow`);
        if (summary.files > 0 && summary.succeededFiles === 0) process.exitCode = 3;
      } finally {
        await generator?.split?.close();
        generator?.dispose();
        await prep?.close();
      }
    })
    .command('import-checkpoint <file>', "convert the authors' Lightning .ckpt (or a PyTorch state_dict) to generator/discriminator .safetensors", (a) => a
      .positional('file', { type: 'string', demandOption: true, describe: '.ckpt / .pt / .pth (read without executing anything)' })
      .option('out', { type: 'string', demandOption: true, describe: 'directory for generator.safetensors and discriminator.safetensors' })
      .option('json', { type: 'boolean', default: false }),
    async (a) => {
      const r = await importCheckpoint(a.file, a.out);
      print(a.json, r, () => `imported ${a.file} (epoch ${r.epoch ?? '?'}, step ${r.globalStep ?? '?'})${r.generator ? `: generator ngf ${r.generator.ngf} depth ${r.generator.depth}` : ''}\n${r.files.join('\n')}`);
    })
    .command('preprocess', 'a dataset through detect, align, letterbox and landmarks into manifest.arrow + faces/ (the training layout)', preprocessCommand,
      (a) => preprocessHandler(a as unknown as Parameters<typeof preprocessHandler>[0]))
    .command('eval', 'evaluations: identity (Table 1), emotion preservation (Tables 2-4), attribute removal (Tables 5, 6)', (y) => emotionCommands(attributesCommand(identityCommand(y))))
    .command('embed <images..>', 'face embeddings of the first face of each image (proxy: Human faceres, 1024-d)', embedCommand,
      (a) => embedHandler(a as unknown as Parameters<typeof embedHandler>[0]))
    .command('classifier', 'train ConvNeXt emotion / attribute classifiers (paper sections 4.2, 4.3) and predict with them', classifierCommand)
    .command('stats', 'statistics as scipy and scikit-learn compute them: paired tests (Wilcoxon, Shapiro-Wilk, Bonferroni), classification reports', statsCommand)
    .command('report <runs..>', 'the paper\'s tables and figures from evaluation and training runs: report.md, report.html, CSV, Parquet, Vega-Lite, SVG, PNG', reportCommand,
      (a) => reportHandler(a as unknown as Parameters<typeof reportHandler>[0]))
    .command('demo', 'the main job on embedded defaults: real photos -> preprocess -> anonymize (toy or given generator, baselines) -> identity + emotion evaluation -> report', (a) => a
      .option('out', { type: 'string', default: 'runs/demo', describe: 'output folder (images, preprocessed, anon, identity, emotion, train, report); rewritten on each run' })
      .option('images', { type: 'string', describe: 'more face photos to include (besides astronaut.png / camera.png fetched by scripts/fetch-test-images.sh)' })
      .option('weights', { type: 'string', describe: 'generator weights (the published .ckpt, a checkpoint dir, .safetensors); default: train a toy generator here' })
      .option('config', { type: 'string', default: 'configs/toy.yaml', describe: 'the toy generator\'s training config' })
      .option('set', { type: 'string', array: true, default: [] as string[], describe: 'override a toy config key, e.g. --set train.maxSteps=10' })
      .option('variants', { type: 'number', default: 4, describe: 'images made of each photo (itself, mirror, rotations, zoom, brightness)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .options(backendOpt),
    async (a) => {
      const b = await backend(a.backend);
      const { runDemo } = await import('./demo.js');
      const r = await runDemo({ outDir: a.out, backend: b.name, imagesDir: a.images, weights: a.weights, configFile: a.config, sets: a.set, variants: a.variants, signal: interruptSignal(STOP_AFTER_STEP) });
      print(a.json, r, () => [`demo done: ${r.images} images, ${r.faces} faces, generator ${r.generator}`, `report: ${r.report}`, ...r.summary.slice(0, 5).map((l) => `  ${l}`)].join('\n'));
    })
    .command('setup <what>', 'optional installs: `ganon setup native` builds the native TensorFlow backend (docs/native.md)', (a) => a
      .positional('what', { type: 'string', choices: ['native'], demandOption: true })
      .option('gpu', { type: 'boolean', default: false, describe: 'build tfjs-node-gpu against the GPU TensorFlow wheel and its CUDA 12 libraries (untested here)' })
      .option('wheel', { type: 'string', describe: 'use this TensorFlow wheel file instead of pip download' })
      .option('dir', { type: 'string', describe: 'install directory (default <repo>/.native, or env GANON_NATIVE_DIR at run time)' })
      .option('force', { type: 'boolean', default: false, describe: 'rebuild even if a working build exists' }),
    async (a) => {
      process.exitCode = await runSetupNative({ gpu: a.gpu, wheel: a.wheel, dir: a.dir, force: a.force });
    })
    .demandCommand(1, 'name a command (ganon --help lists them)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(toolkitVersion())
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`${y.help() ? '' : ''}ganon: ${msg}\n(see ganon --help)\n`);
      process.exit(2);
    });
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli(argv).parseAsync();
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof ToolkitError) {
      process.stderr.write(`ganon: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`ganon: internal error\n${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

const code = await main(hideBin(process.argv));
process.exitCode = code;
