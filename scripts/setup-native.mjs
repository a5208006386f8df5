#!/usr/bin/env node
// Builds the optional native TensorFlow backend (@tensorflow/tfjs-node 4.22.0's
// binding) against the libtensorflow shipped inside the TensorFlow 2.21 pip wheel.
//
//   node scripts/setup-native.mjs [--gpu] [--wheel FILE] [--dir DIR] [--nodedir DIR] [--force]
//
// Plain Node ESM, built-ins only. Nothing is installed into Python (pip is used
// for `pip download` only) and nothing is written outside DIR (default
// <repo>/.native, git-ignored, untouched by `npm ci`). See docs/native.md.
//
// Exit codes: 0 built (or already built) and checked; 1 build or check failed
// (or the project's own node_modules are missing: run npm ci); 2 a prerequisite
// is missing (pip, C++ compiler, make, Python for node-gyp, Node headers) or bad
// arguments.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const TFJS_VERSION = '4.22.0';
const TF_VERSION = '2.21.0';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MARKER = 'ganon-native.json';

class Missing extends Error {} // exit 2
class Failed extends Error {} // exit 1

const t0 = Date.now();
const log = (msg) => console.log(`setup-native: ${msg}`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (bytes) => `${Math.round(bytes / 1e6)} MB`;

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const o = { gpu: false, wheel: null, dir: null, nodedir: null, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new Missing(`${a} needs a value`);
      return v;
    };
    if (a === '--gpu') o.gpu = true;
    else if (a === '--force') o.force = true;
    else if (a === '--wheel' || a.startsWith('--wheel=')) o.wheel = path.resolve(val());
    else if (a === '--dir' || a.startsWith('--dir=')) o.dir = path.resolve(val());
    else if (a === '--nodedir' || a.startsWith('--nodedir=')) o.nodedir = path.resolve(val());
    else if (a === '-h' || a === '--help') {
      console.log('usage: node scripts/setup-native.mjs [--gpu] [--wheel FILE] [--dir DIR] [--nodedir DIR] [--force]');
      process.exit(0);
    } else throw new Missing(`unknown argument '${a}' (see --help)`);
  }
  o.dir ??= process.env.GANON_NATIVE_DIR ? path.resolve(process.env.GANON_NATIVE_DIR) : path.join(REPO_ROOT, '.native');
  return o;
}

// ---------------------------------------------------------------- helpers

function probe(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error || r.status !== 0) return null;
  return `${r.stdout}${r.stderr}`.trim();
}

function run(cmd, args, { cwd, env, logFile, quiet } = {}) {
  return new Promise((resolve) => {
    const out = logFile ? fs.createWriteStream(logFile) : null;
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (d) => {
      out?.write(d);
      tail = (tail + d.toString()).slice(-6000);
      if (!quiet) process.stdout.write(d.toString().replace(/^(?=.)/gm, '  | '));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => { tail += `\n${e.message}`; });
    child.on('close', (code) => { out?.end(); resolve({ code: code ?? 1, tail }); });
  });
}

async function dirSize(p) {
  let total = 0;
  let st;
  try { st = await fsp.lstat(p); } catch { return 0; }
  if (st.isSymbolicLink()) return 0;
  if (!st.isDirectory()) return st.size;
  for (const e of await fsp.readdir(p)) total += await dirSize(path.join(p, e));
  return total;
}

function isInside(child, parent) {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function readJson(file) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; }
}

// ---------------------------------------------------------------- zip reader (wheels are zip files)

async function readZipDirectory(file) {
  const fd = await fsp.open(file, 'r');
  try {
    const { size } = await fd.stat();
    const tailLen = Math.min(size, 65557 + 20);
    const tail = Buffer.alloc(tailLen);
    await fd.read(tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
    if (eocd < 0) throw new Failed(`${file} is not a zip file (no end of central directory)`);
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw new Failed(`${file}: bad zip64 locator`);
      const rec = Buffer.alloc(56);
      await fd.read(rec, 0, 56, Number(tail.readBigUInt64LE(loc + 8)));
      if (rec.readUInt32LE(0) !== 0x06064b50) throw new Failed(`${file}: bad zip64 end record`);
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    const cd = Buffer.alloc(cdSize);
    await fd.read(cd, 0, cdSize, cdOffset);
    const entries = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Failed(`${file}: corrupt central directory`);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let offset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) { size = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (compSize === 0xffffffff) { compSize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (offset === 0xffffffff) { offset = Number(cd.readBigUInt64LE(q)); q += 8; }
        }
        e += 4 + len;
      }
      entries.push({ name, method, crc, compSize, size, offset });
      p = extraEnd + commentLen;
    }
    return entries;
  } finally {
    await fd.close();
  }
}

async function extractEntry(file, entry, dest) {
  const fd = await fsp.open(file, 'r');
  const lh = Buffer.alloc(30);
  await fd.read(lh, 0, 30, entry.offset);
  await fd.close();
  if (lh.readUInt32LE(0) !== 0x04034b50) throw new Failed(`${file}: bad local header for ${entry.name}`);
  const start = entry.offset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part`;
  let crc = 0;
  let bytes = 0;
  const check = new Transform({
    transform(chunk, _enc, cb) {
      if (zlib.crc32) crc = zlib.crc32(chunk, crc);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const src = entry.compSize > 0
    ? fs.createReadStream(file, { start, end: start + entry.compSize - 1, highWaterMark: 1 << 20 })
    : fs.createReadStream('/dev/null');
  const stages = [src];
  if (entry.method === 8) stages.push(zlib.createInflateRaw({ chunkSize: 1 << 20 }));
  else if (entry.method !== 0) throw new Failed(`${entry.name}: unsupported zip method ${entry.method}`);
  stages.push(check, fs.createWriteStream(tmp));
  await pipeline(stages);
  if (bytes !== entry.size || (zlib.crc32 && (crc >>> 0) !== entry.crc)) {
    await fsp.rm(tmp, { force: true });
    throw new Failed(`${entry.name}: size/CRC mismatch while extracting (corrupt wheel?)`);
  }
  await fsp.rename(tmp, dest);
}

async function readZipText(file, entry) {
  const tmp = path.join(os.tmpdir(), `ganon-${path.basename(entry.name)}.${process.pid}`);
  await extractEntry(file, entry, tmp);
  const text = await fsp.readFile(tmp, 'utf8');
  await fsp.rm(tmp, { force: true });
  return text;
}

// ---------------------------------------------------------------- prerequisites

function findNodedir(opt) {
  const cands = [];
  if (opt) cands.push(opt);
  if (process.env.npm_config_nodedir) cands.push(process.env.npm_config_nodedir);
  const cfg = probe(npmCmd().cmd, [...npmCmd().args, 'config', 'get', 'nodedir']);
  if (cfg && cfg !== 'undefined' && cfg !== 'null') cands.push(cfg.split('\n').pop().trim());
  cands.push(path.resolve(process.execPath, '..', '..'));
  for (const d of cands) {
    const inc = path.join(d, 'include', 'node');
    if (fs.existsSync(path.join(inc, 'node_api.h')) && fs.existsSync(path.join(inc, 'common.gypi'))) {
      let ver = '?';
      try {
        const h = fs.readFileSync(path.join(inc, 'node_version.h'), 'utf8');
        const m = (k) => h.match(new RegExp(`#define ${k} (\\d+)`))?.[1];
        ver = `${m('NODE_MAJOR_VERSION')}.${m('NODE_MINOR_VERSION')}.${m('NODE_PATCH_VERSION')}`;
      } catch { /* version is informational */ }
      return { dir: d, version: ver };
    }
  }
  return null;
}

let npmCached = null;
function npmCmd() {
  if (npmCached) return npmCached;
  const execpath = process.env.npm_execpath;
  if (execpath && /npm-cli\.js$/.test(execpath) && fs.existsSync(execpath)) npmCached = { cmd: process.execPath, args: [execpath] };
  else npmCached = { cmd: 'npm', args: [] };
  return npmCached;
}

function findNodeGyp() {
  const cands = [];
  if (process.env.npm_config_node_gyp) cands.push(process.env.npm_config_node_gyp);
  cands.push(path.resolve(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const root = probe(npmCmd().cmd, [...npmCmd().args, 'root', '-g']);
  if (root) cands.push(path.join(root.split('\n').pop().trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const c of cands) if (c && fs.existsSync(c)) return c;
  return probe('node-gyp', ['--version']) ? 'node-gyp' : null;
}

function findPython() {
  for (const py of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const v = probe(py, ['--version']);
    if (v && /Python 3/.test(v)) return { py, version: v.replace('Python ', '') };
  }
  return null;
}

function checkPrereqs(o) {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) {
    throw new Missing(`native build supports Linux x64/arm64 only (this is ${process.platform}/${process.arch}); elsewhere install @tensorflow/tfjs-node from npm`);
  }
  const python = findPython();
  if (!python) throw new Missing('python3 not found (needed for pip download and for node-gyp)');
  let pip = null;
  if (!o.wheel || o.gpu) {
    const v = probe(python.py, ['-m', 'pip', '--version']);
    if (!v) throw new Missing(`pip not found ('${python.py} -m pip' failed); install pip or pass --wheel FILE`);
    pip = v.split(' ').slice(0, 2).join(' ');
  } else if (!fs.existsSync(o.wheel)) {
    throw new Missing(`wheel not found: ${o.wheel}`);
  }
  const cxxCands = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  const cxx = cxxCands.find((c) => probe(c, ['--version']));
  if (!cxx) throw new Missing('no C++ compiler found (g++ or clang++; e.g. apt-get install g++)');
  if (!probe('make', ['--version'])) throw new Missing('make not found (e.g. apt-get install make)');
  if (!probe(npmCmd().cmd, [...npmCmd().args, '--version'])) throw new Missing('npm not found');
  const nodedir = findNodedir(o.nodedir);
  if (!nodedir) {
    throw new Missing(`Node headers not found (include/node/node_api.h and common.gypi under --nodedir, npm config nodedir, or ${path.resolve(process.execPath, '..', '..')}); install the Node development headers`);
  }
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) throw new Missing('node-gyp not found (it ships with npm; or npm install -g node-gyp)');
  const cxxVer = probe(cxx, ['--version']).split('\n')[0];
  log(`prerequisites: ${python.py} ${python.version}${pip ? `, ${pip}` : ''}, ${cxxVer}, make, Node headers ${nodedir.version} in ${nodedir.dir}, node-gyp ${nodeGyp}`);
  return { python: python.py, nodedir: nodedir.dir, nodeGyp };
}

// ---------------------------------------------------------------- project / tfjs-core sharing

function projectTf() {
  const req = createRequire(path.join(REPO_ROOT, 'package.json'));
  const out = {};
  for (const name of ['tfjs-core', 'tfjs-backend-cpu']) {
    try {
      const pj = req.resolve(`@tensorflow/${name}/package.json`);
      out[name] = { dir: path.dirname(pj), version: readJson(pj)?.version };
    } catch {
      throw new Failed(`the project's @tensorflow/${name} is not installed in ${REPO_ROOT}/node_modules; run 'npm ci' first`);
    }
  }
  if (out['tfjs-core'].version !== TFJS_VERSION) {
    throw new Failed(`the project's @tensorflow/tfjs-core is ${out['tfjs-core'].version}, but the native binding is @tensorflow/tfjs-node ${TFJS_VERSION}; they must match`);
  }
  return out;
}

/**
 * Makes the isolated install resolve every @tensorflow package the project also
 * has (same version) to the project's copy, so one tfjs-core module instance
 * serves both. Inside the repo the copies are removed and Node's resolution
 * walks up to <repo>/node_modules; outside it they become symlinks.
 */
async function dedupeAgainstProject(dir, keep) {
  const projReq = createRequire(path.join(REPO_ROOT, 'package.json'));
  const fallThrough = isInside(dir, REPO_ROOT);
  const actions = [];
  const visit = async (nm) => {
    let names;
    try { names = await fsp.readdir(nm); } catch { return; }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const pkgDirs = n.startsWith('@') ? (await fsp.readdir(path.join(nm, n)).catch(() => [])).map((s) => path.join(nm, n, s)) : [path.join(nm, n)];
      for (const pd of pkgDirs) {
        const st = await fsp.lstat(pd).catch(() => null);
        if (!st || st.isSymbolicLink()) continue;
        const name = path.relative(nm, pd).split(path.sep).join('/');
        if (name.startsWith('@tensorflow/') && !keep.includes(name)) {
          const mine = readJson(path.join(pd, 'package.json'))?.version;
          let theirs = null;
          try { theirs = path.dirname(projReq.resolve(`${name}/package.json`)); } catch { /* project lacks it */ }
          if (theirs && readJson(path.join(theirs, 'package.json'))?.version === mine) {
            await fsp.rm(pd, { recursive: true, force: true });
            const topLevel = nm === path.join(dir, 'node_modules');
            if (!fallThrough || !topLevel) await fsp.symlink(fs.realpathSync(theirs), pd, 'dir');
            actions.push(name);
            continue;
          }
        }
        await visit(path.join(pd, 'node_modules'));
      }
    }
  };
  await visit(path.join(dir, 'node_modules'));
  return { actions: [...new Set(actions)], fallThrough };
}

// ---------------------------------------------------------------- the check (child process)

const CHECK_SOURCE = String.raw`'use strict';
// Written by scripts/setup-native.mjs: loads the native binding the way ganon
// does (project's tfjs-core + createRequire into the isolated install) and
// compares conv2d and its gradients with tfjs-backend-cpu.
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const [repoRoot, dir, pkg] = process.argv.slice(2);
const real = (p) => fs.realpathSync(p);
(async () => {
  const projReq = createRequire(path.join(repoRoot, 'package.json'));
  const nativeReq = createRequire(path.join(dir, 'package.json'));
  const main = nativeReq.resolve(pkg);
  const pkgReq = createRequire(main);
  const coreProject = real(projReq.resolve('@tensorflow/tfjs-core'));
  const coreNative = real(pkgReq.resolve('@tensorflow/tfjs-core'));
  const unionReq = createRequire(pkgReq.resolve('@tensorflow/tfjs'));
  const coreUnion = real(unionReq.resolve('@tensorflow/tfjs-core'));
  const tf = projReq('@tensorflow/tfjs-core');
  projReq('@tensorflow/tfjs-backend-cpu');
  tf.env().set('PROD', true);
  const t0 = Date.now();
  const tfn = nativeReq(pkg);
  const loadMs = Date.now() - t0;
  const coreModules = Object.keys(require.cache).filter((k) => /tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/.test(k));
  const backendNames = tf.engine().backendNames();
  const nb = tf.findBackend('tensorflow');
  const r = {
    loadMs, coreProject, coreNative, coreUnion, coreModules: coreModules.length,
    sameEngine: tfn.engine() === tf.engine(), backendNames,
    libtensorflow: nb && nb.binding ? nb.binding.TF_Version : null,
    tfjsNode: tfn.version && tfn.version['tfjs-node'],
    onednn: process.env.TF_ENABLE_ONEDNN_OPTS ?? 'unset',
  };
  r.singleInstance = coreProject === coreNative && coreProject === coreUnion && r.coreModules === 1 && r.sameEngine;
  const vals = (n, seed) => { let s = seed >>> 0; const o = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s + 0x6d2b79f5) >>> 0; let t = s; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); o[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1; } return o; };
  const xs = vals(2 * 17 * 17 * 5, 1), ws = vals(3 * 3 * 5 * 7, 2);
  const compute = async (backend) => {
    if (!(await tf.setBackend(backend))) throw new Error('setBackend(' + backend + ') returned false');
    const active = tf.getBackend();
    const out = tf.tidy(() => {
      const x = tf.tensor4d(xs, [2, 17, 17, 5]);
      const w = tf.tensor4d(ws, [3, 3, 5, 7]);
      const f = (a, b) => tf.conv2d(a, b, [2, 2], 'same');
      const y = f(x, w);
      const dy = tf.tensor4d(vals(y.size, 3), y.shape);
      const [dx, dw] = tf.grads(f)([x, w], dy);
      return [y, dx, dw];
    });
    const data = await Promise.all(out.map((t) => t.data()));
    tf.dispose(out);
    return { active, data };
  };
  const nat = await compute('tensorflow');
  const cpu = await compute('cpu');
  r.activeDuringCheck = nat.active;
  r.maxAbsDiff = {};
  ['y', 'dx', 'dw'].forEach((k, i) => {
    let m = 0; const a = nat.data[i], b = cpu.data[i];
    if (a.length !== b.length) m = Infinity;
    else for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j] - b[j]));
    r.maxAbsDiff[k] = m;
  });
  r.ok = r.singleInstance && nat.active === 'tensorflow' && backendNames.includes('tensorflow') &&
    typeof r.libtensorflow === 'string' && Object.values(r.maxAbsDiff).every((m) => m <= 1e-4);
  console.log('GANON_CHECK ' + JSON.stringify(r));
  process.exit(r.ok ? 0 : 3);
})().catch((e) => { console.log('GANON_CHECK ' + JSON.stringify({ ok: false, error: String(e && e.stack || e) })); process.exit(3); });
`;

async function runCheck(dir, pkg) {
  const file = path.join(dir, 'ganon-check.cjs');
  await fsp.writeFile(file, CHECK_SOURCE);
  const env = { ...process.env };
  env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const t = Date.now();
  const res = await run(process.execPath, [file, REPO_ROOT, dir, pkg], { env, quiet: true, cwd: REPO_ROOT });
  const line = res.tail.split('\n').reverse().find((l) => l.startsWith('GANON_CHECK '));
  let r = null;
  try { r = line ? JSON.parse(line.slice('GANON_CHECK '.length)) : null; } catch { /* handled below */ }
  if (!r) r = { ok: false, error: `check produced no result (exit ${res.code}): ${res.tail.slice(-1500)}` };
  r.ms = Date.now() - t;
  return r;
}

function describeCheck(r) {
  if (r.error) return `FAILED: ${r.error}`;
  const d = r.maxAbsDiff ?? {};
  return `libtensorflow ${r.libtensorflow}, tfjs-node ${r.tfjsNode}, load ${r.loadMs} ms, ` +
    `one tfjs-core instance: ${r.singleInstance ? 'yes' : `NO (project ${r.coreProject}, native ${r.coreNative}, union ${r.coreUnion}, loaded ${r.coreModules}, same engine ${r.sameEngine})`}, ` +
    `backends [${(r.backendNames ?? []).join(', ')}], TF_ENABLE_ONEDNN_OPTS ${r.onednn}, ` +
    `conv2d vs cpu max |diff| y ${fmt(d.y)} dx ${fmt(d.dx)} dw ${fmt(d.dw)} (tol 1e-4) -> ${r.ok ? 'OK' : 'FAILED'}`;
}
const fmt = (x) => (typeof x === 'number' ? x.toExponential(1) : String(x));

// ---------------------------------------------------------------- steps

async function pipDownload(python, spec, cacheDir, pattern) {
  const have = () => fs.readdirSync(cacheDir).filter((f) => pattern.test(f)).sort();
  let found = have();
  if (found.length) { log(`  cached: ${found[0]}`); return { file: path.join(cacheDir, found[0]), ms: 0 }; }
  const t = Date.now();
  const base = ['-m', 'pip', 'download', spec, '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--progress-bar', 'off', '-d', cacheDir];
  let res = await run(python, base);
  if (res.code !== 0) {
    // The library inside does not depend on the Python version; retry for a
    // Python the wheel supports when the local interpreter is too old/new.
    const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
    log(`  retrying with an explicit target (--python-version 3.11 --platform manylinux_*_${arch})`);
    res = await run(python, [...base, '--python-version', '3.11', '--implementation', 'cp', '--platform', `manylinux_2_27_${arch}`, '--platform', `manylinux_2_17_${arch}`, '--platform', `manylinux2014_${arch}`]);
  }
  found = have();
  if (res.code !== 0 || !found.length) {
    throw new Failed(`pip download ${spec} failed (exit ${res.code}): not on your package index or no network? Download the wheel elsewhere and pass --wheel FILE`);
  }
  return { file: path.join(cacheDir, found[0]), ms: Date.now() - t };
}

const HEADER_RE = /^tensorflow\/include\/((?:tensorflow\/c\/|tsl\/|xla\/tsl\/|tensorflow\/core\/platform\/ctstring)[^]*\.h)$/;
const LIB_RE = /^tensorflow\/(libtensorflow(?:_cc|_framework)?\.so\.2)$/;
const NV_LIB_RE = /^(nvidia\/[^/]+\/lib\/[^/]+\.so(?:\.[0-9]+)*)$/;

async function extractWheel(wheel, deps, { nvidia = [] } = {}) {
  const stamp = path.join(deps, '.ganon-wheel.json');
  const want = { wheel: path.basename(wheel), size: fs.statSync(wheel).size, nvidia: nvidia.map((f) => path.basename(f)) };
  const prev = readJson(stamp);
  if (prev && JSON.stringify(prev) === JSON.stringify(want) && fs.existsSync(path.join(deps, 'lib', 'libtensorflow_cc.so.2'))) {
    log('  already extracted');
    return { ms: 0, bytes: await dirSize(deps), files: 0 };
  }
  const t = Date.now();
  await fsp.rm(deps, { recursive: true, force: true });
  const entries = await readZipDirectory(wheel);
  const jobs = [];
  for (const e of entries) {
    let m;
    if ((m = LIB_RE.exec(e.name))) jobs.push([e, path.join(deps, 'lib', m[1])]);
    else if ((m = HEADER_RE.exec(e.name))) jobs.push([e, path.join(deps, 'include', m[1])]);
  }
  if (!jobs.some(([e]) => e.name.endsWith('libtensorflow_cc.so.2')) || !jobs.some(([e]) => e.name.endsWith('c/c_api.h'))) {
    throw new Failed(`${wheel} has no tensorflow/libtensorflow_cc.so.2 or C headers; is it a TensorFlow ${TF_VERSION} Linux wheel?`);
  }
  let bytes = 0;
  for (const [e, dest] of jobs) { await extractEntry(wheel, e, dest); bytes += e.size; }
  let files = jobs.length;
  // GPU: the CUDA 12 libraries from the nvidia-* wheels, laid out as in
  // site-packages (tensorflow/ and nvidia/ side by side), i.e. deps/nvidia/*/lib
  // next to deps/lib, where libtensorflow's $ORIGIN/../nvidia/... RUNPATH looks.
  for (const nv of nvidia) {
    for (const e of await readZipDirectory(nv)) {
      const m = NV_LIB_RE.exec(e.name);
      if (m) { await extractEntry(nv, e, path.join(deps, m[1])); bytes += e.size; files++; }
    }
  }
  const lib = path.join(deps, 'lib');
  // Belt and braces: libtensorflow_cc's RUNPATH also has $ORIGIN/, so link the
  // CUDA libraries into deps/lib too (what users of the pip wheel do by hand).
  const nvRoot = path.join(deps, 'nvidia');
  for (const pkgName of await fsp.readdir(nvRoot).catch(() => [])) {
    for (const so of await fsp.readdir(path.join(nvRoot, pkgName, 'lib')).catch(() => [])) {
      const link = path.join(lib, so);
      if (!fs.existsSync(link)) await fsp.symlink(path.join('..', 'nvidia', pkgName, 'lib', so), link);
    }
  }
  for (const [link, target] of [['libtensorflow.so.2', 'libtensorflow_cc.so.2'], ['libtensorflow.so', 'libtensorflow.so.2'], ['libtensorflow_framework.so', 'libtensorflow_framework.so.2']]) {
    await fsp.rm(path.join(lib, link), { force: true });
    await fsp.symlink(target, path.join(lib, link));
  }
  await fsp.writeFile(stamp, JSON.stringify(want));
  return { ms: Date.now() - t, bytes, files };
}

async function gpuRequirements(wheel) {
  const entries = await readZipDirectory(wheel);
  const meta = entries.find((e) => /^[^/]+\.dist-info\/METADATA$/.test(e.name));
  if (!meta) throw new Failed(`${wheel}: no METADATA`);
  const text = await readZipText(wheel, meta);
  const reqs = [];
  for (const line of text.split('\n')) {
    const m = /^Requires-Dist:\s*(nvidia-[A-Za-z0-9_.-]+)\s*\(?([^;)]*)\)?\s*;\s*(.*)$/.exec(line.trim());
    if (m && /extra\s*==\s*["']and-cuda["']/.test(m[3])) reqs.push(`${m[1]}${m[2].replace(/\s+/g, '')}`);
  }
  return reqs;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const pkg = o.gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const dir = o.dir;
  const pkgDir = path.join(dir, 'node_modules', ...pkg.split('/'));
  const markerFile = path.join(dir, MARKER);
  log(`${pkg}@${TFJS_VERSION} + TensorFlow ${TF_VERSION} (${o.gpu ? 'GPU, UNTESTED' : 'CPU'}) in ${dir}`);
  const proj = projectTf();

  // Idempotence: a recorded, still-working build is left alone.
  const marker = readJson(markerFile) ?? {};
  if (!o.force && marker[pkg]) {
    const r = await runCheck(dir, pkg);
    if (r.ok) {
      log(`already built and working: ${describeCheck(r)} (checked in ${secs(r.ms)}); use --force to rebuild`);
      return 0;
    }
    log(`existing build does not pass the check, rebuilding (${r.error ? r.error.split('\n')[0] : describeCheck(r)})`);
  }

  const pre = checkPrereqs(o);
  const cacheDir = path.join(dir, 'cache');
  await fsp.mkdir(cacheDir, { recursive: true });
  const timings = {};

  // 1. the wheel(s)
  log(`[1/5] TensorFlow wheel${o.wheel ? ` (given): ${o.wheel}` : `: pip download ${o.gpu ? 'tensorflow' : 'tensorflow-cpu'}==${TF_VERSION} --no-deps`}`);
  let wheel = o.wheel;
  let dlMs = 0;
  if (!wheel) {
    const re = o.gpu ? new RegExp(`^tensorflow-${TF_VERSION.replace(/\./g, '\\.')}-.*\\.whl$`) : new RegExp(`^tensorflow_cpu-${TF_VERSION.replace(/\./g, '\\.')}-.*\\.whl$`);
    const d = await pipDownload(pre.python, `${o.gpu ? 'tensorflow' : 'tensorflow-cpu'}==${TF_VERSION}`, cacheDir, re);
    wheel = d.file;
    dlMs += d.ms;
  }
  const nvidia = [];
  if (o.gpu) {
    const reqs = await gpuRequirements(wheel);
    if (!reqs.length) throw new Failed(`${wheel} lists no nvidia-* requirements for extra "and-cuda"; is it the GPU 'tensorflow' wheel?`);
    log(`  CUDA 12 libraries (extra "and-cuda"): ${reqs.join(' ')}`);
    for (const spec of reqs) {
      const name = spec.match(/^[A-Za-z0-9_.-]+/)[0].replace(/[-.]/g, '_');
      const d = await pipDownload(pre.python, spec, cacheDir, new RegExp(`^${name}-.*\\.whl$`, 'i'));
      nvidia.push(d.file);
      dlMs += d.ms;
    }
  }
  timings.downloadS = +(dlMs / 1000).toFixed(1);
  log(`  wheel ${path.basename(wheel)} (${mb(fs.statSync(wheel).size)})${o.wheel && !o.gpu ? '' : `, download ${secs(dlMs)}`}`);

  // 2. the npm package, isolated
  log(`[2/5] ${pkg}@${TFJS_VERSION}: npm install --ignore-scripts into ${dir}`);
  const tNpm = Date.now();
  const pj = readJson(path.join(dir, 'package.json')) ?? { name: 'ganon-native', private: true, description: 'Isolated install of the native TensorFlow binding; built by scripts/setup-native.mjs', dependencies: {} };
  pj.dependencies = { ...pj.dependencies, [pkg]: TFJS_VERSION };
  await fsp.writeFile(path.join(dir, 'package.json'), `${JSON.stringify(pj, null, 2)}\n`);
  const installed = readJson(path.join(pkgDir, 'package.json'))?.version === TFJS_VERSION &&
    fs.existsSync(path.join(dir, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp'));
  if (installed) log('  already installed');
  else {
    const npm = npmCmd();
    const res = await run(npm.cmd, [...npm.args, 'install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', '--loglevel=error'], { cwd: dir, logFile: path.join(dir, 'npm-install.log') });
    if (res.code !== 0) throw new Failed(`npm install in ${dir} failed (exit ${res.code}), see ${path.join(dir, 'npm-install.log')}`);
  }
  const dd = await dedupeAgainstProject(dir, [pkg, '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);
  timings.npmS = +((Date.now() - tNpm) / 1000).toFixed(1);
  log(`  one tfjs-core: ${dd.actions.length ? dd.actions.join(', ') : 'nothing'} ${dd.fallThrough ? `resolve to ${REPO_ROOT}/node_modules (removed here; Node's lookup walks up)` : 'symlinked to the project\'s copies'}; tfjs-core ${proj['tfjs-core'].version} at ${proj['tfjs-core'].dir}`);

  // 3. libtensorflow + headers into the package's deps/
  log(`[3/5] extracting shared libraries and C headers into ${path.join(pkgDir, 'deps')}`);
  const ex = await extractWheel(wheel, path.join(pkgDir, 'deps'), { nvidia });
  timings.extractS = +(ex.ms / 1000).toFixed(1);
  if (ex.files) log(`  ${ex.files} files, ${mb(ex.bytes)}, ${secs(ex.ms)}`);

  // 4. build the binding for this Node's N-API version only, against local headers
  log(`[4/5] building the binding (node-pre-gyp install --build-from-source --nodedir=${pre.nodedir})`);
  const tB = Date.now();
  await fsp.rm(path.join(pkgDir, 'lib'), { recursive: true, force: true });
  const env = { ...process.env, npm_config_node_gyp: pre.nodeGyp === 'node-gyp' ? '' : pre.nodeGyp, npm_config_nodedir: pre.nodedir, JOBS: process.env.JOBS ?? 'max' };
  const buildLog = path.join(dir, `build-${pkg.split('/')[1]}.log`);
  const res = await run(process.execPath, [path.join(dir, 'node_modules', '@mapbox', 'node-pre-gyp', 'bin', 'node-pre-gyp'), 'install', '--build-from-source', `--nodedir=${pre.nodedir}`, '--loglevel=warn'], { cwd: pkgDir, env, logFile: buildLog, quiet: true });
  if (res.code !== 0) {
    process.stdout.write(res.tail.split('\n').slice(-30).map((l) => `  | ${l}`).join('\n') + '\n');
    throw new Failed(`building the binding failed (exit ${res.code}); full log: ${buildLog}`);
  }
  for (const e of await fsp.readdir(pkgDir)) if (e.startsWith('build-tmp-napi-') || e === 'build') await fsp.rm(path.join(pkgDir, e), { recursive: true, force: true });
  const built = (await fsp.readdir(path.join(pkgDir, 'lib')).catch(() => [])).join(', ');
  timings.buildS = +((Date.now() - tB) / 1000).toFixed(1);
  log(`  built lib/${built}/tfjs_binding.node in ${secs(Date.now() - tB)}`);

  // 5. check
  log('[5/5] checking: conv2d + gradients, native vs tfjs-backend-cpu, through the project\'s tfjs-core');
  const r = await runCheck(dir, pkg);
  log(`  ${describeCheck(r)}`);
  if (!r.ok) throw new Failed(`the native build does not pass the check`);

  const disk = { depsMB: Math.round((await dirSize(path.join(pkgDir, 'deps'))) / 1e6), nodeModulesMB: Math.round((await dirSize(path.join(dir, 'node_modules'))) / 1e6), cacheMB: Math.round((await dirSize(cacheDir)) / 1e6) };
  marker[pkg] = { version: TFJS_VERSION, wheel: path.basename(wheel), libtensorflow: r.libtensorflow, variant: o.gpu ? 'gpu (untested)' : 'cpu', builtAt: new Date().toISOString(), node: process.version, timings, disk };
  await fsp.writeFile(markerFile, `${JSON.stringify(marker, null, 2)}\n`);
  log(`done in ${secs(Date.now() - t0)}: download ${timings.downloadS} s, npm ${timings.npmS} s, extract ${timings.extractS} s, build ${timings.buildS} s; ` +
    `disk: deps ${disk.depsMB} MB, node_modules ${disk.nodeModulesMB} MB total (incl. deps), wheel cache ${disk.cacheMB} MB (${cacheDir}, safe to delete)`);
  if (o.gpu) log('NOTE: the GPU variant is untested (built without a GPU to try it on); see docs/native.md');
  log(`use it: GANON_BACKEND=tensorflow (or --backend auto)${isInside(dir, REPO_ROOT) && path.relative(REPO_ROOT, dir) === '.native' ? '' : `, with GANON_NATIVE_DIR=${dir}`}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof Missing) { console.error(`setup-native: cannot build: ${e.message}`); process.exit(2); }
    console.error(`setup-native: error: ${e instanceof Failed ? e.message : (e && e.stack) || e}`);
    process.exit(1);
  },
);
