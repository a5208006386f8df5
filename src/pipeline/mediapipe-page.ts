/**
 * The page headless Chromium loads for the `mediapipe` landmark backend
 * (src/pipeline/mediapipe.ts). It runs one of two MediaPipe graphs on images
 * the Node side serves as raw RGB over loopback, and returns 478 normalised
 * (x, y, z) points per image in MediaPipe's order:
 *   'face_mesh': the attention mesh inside @mediapipe/face_mesh@0.4.1633559619
 *     with refineLandmarks (the reference's `refine_landmarks=True`), one face,
 *     min detection confidence 0.5, TFLite on the CPU (as Python's graph runs
 *     it; SwiftShader's emulated GPU is 10x slower and differs by 0.02 px).
 *     The web solution has no `static_image_mode`: it tracks the face from the
 *     previous frame's landmarks. So every image is preceded by a black frame,
 *     on which no face is found, and the detector runs afresh on each image,
 *     as Python's `static_image_mode=True` does. This gives the same points as
 *     restarting the graph (`clear: 'reset'`, kept for the test that checks it)
 *     at a tenth of the cost;
 *   'task': @mediapipe/tasks-vision FaceLandmarker on the user's .task file,
 *     IMAGE mode, one face, the same thresholds.
 * Every asset URL is relative to the page's own loopback origin.
 */

export type PageSource = 'face_mesh' | 'task';

const COMMON = String.raw`
const canvas = document.createElement('canvas');
const ctx = canvas.getContext('2d', { willReadFrequently: true });

function toCanvas(bytes, offset, w, h) {
  canvas.width = w;
  canvas.height = h;
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0, j = offset; i < w * h; i++, j += 3) {
    rgba[i * 4] = bytes[j];
    rgba[i * 4 + 1] = bytes[j + 1];
    rgba[i * 4 + 2] = bytes[j + 2];
    rgba[i * 4 + 3] = 255;
  }
  ctx.putImageData(new ImageData(rgba, w, h), 0, 0);
  return canvas;
}

function flat(points) {
  if (!points || points.length === 0) return null;
  const out = new Array(points.length * 3);
  for (let i = 0; i < points.length; i++) {
    out[i * 3] = points[i].x;
    out[i * 3 + 1] = points[i].y;
    out[i * 3 + 2] = points[i].z;
  }
  return out;
}

// Runs one batch: the raw RGB bytes of every image, back to back, are at batchUrl.
window.ganonRun = async (batchUrl, sizes) => {
  const res = await fetch(batchUrl);
  if (!res.ok) throw new Error('batch fetch failed: ' + res.status);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const out = [];
  let offset = 0;
  for (const [w, h] of sizes) {
    out.push(await window.ganonOne(toCanvas(bytes, offset, w, h)));
    offset += w * h * 3;
  }
  return out;
};
`;

const FACE_MESH = String.raw`
window.ganonInit = async (opts) => {
  const mesh = new FaceMesh({ locateFile: (file) => 'face_mesh/' + file });
  mesh.setOptions({ maxNumFaces: 1, refineLandmarks: true, minDetectionConfidence: opts.minScore, minTrackingConfidence: 0.5, selfieMode: false, useCpuInference: true });
  let last = null;
  mesh.onResults((r) => { last = r; });
  await mesh.initialize();
  const blank = document.createElement('canvas');
  blank.width = 64; blank.height = 64;
  blank.getContext('2d').fillRect(0, 0, 64, 64);
  window.ganonOne = async (image) => {
    if (opts.clear === 'reset') mesh.reset();
    else {
      last = null;
      await mesh.send({ image: blank });
      if (last && last.multiFaceLandmarks && last.multiFaceLandmarks.length) throw new Error('face_mesh found a face on the blank frame');
    }
    last = null;
    await mesh.send({ image });
    if (last === null) throw new Error('face_mesh returned no result');
    return flat(last.multiFaceLandmarks && last.multiFaceLandmarks[0]);
  };
  return { source: 'face_mesh', version: typeof VERSION === 'string' ? VERSION : '0.4.1633559619' };
};
`;

const TASK = String.raw`
import { FilesetResolver, FaceLandmarker } from './tasks-vision/vision_bundle.mjs';
window.ganonInit = async (opts) => {
  const fileset = await FilesetResolver.forVisionTasks(new URL('tasks-vision/wasm', location.href).href);
  const landmarker = await FaceLandmarker.createFromOptions(fileset, {
    baseOptions: { modelAssetPath: new URL('model.task', location.href).href, delegate: 'CPU' },
    runningMode: 'IMAGE', numFaces: 1,
    minFaceDetectionConfidence: opts.minScore, minFacePresenceConfidence: 0.5, minTrackingConfidence: 0.5,
    outputFaceBlendshapes: false, outputFacialTransformationMatrixes: false,
  });
  window.ganonOne = async (image) => {
    const r = landmarker.detect(image);
    return flat(r.faceLandmarks && r.faceLandmarks[0]);
  };
  return { source: 'task', version: 'tasks-vision' };
};
window.ganonLoaded = true;
`;

/** The HTML of the page for one model source. */
export function pageHtml(source: PageSource): string {
  const head = '<!doctype html><html><head><meta charset="utf-8"><title>ganon mediapipe</title>';
  if (source === 'face_mesh') {
    return `${head}<script src="face_mesh/face_mesh.js"></script><script>${COMMON}${FACE_MESH}window.ganonLoaded = true;</script></head><body></body></html>`;
  }
  return `${head}<script>${COMMON}</script><script type="module">${TASK}</script></head><body></body></html>`;
}
