/**
 * The `mediapipe` landmark backend: MediaPipe itself, in one headless Chromium
 * per process. MediaPipe's web packages do not run in Node (they need
 * `navigator` and draw through WebGL), so a Chromium from the system (Debian's
 * `chromium`; never downloaded) is driven with playwright-core over a pipe,
 * renders WebGL through SwiftShader, and loads a page (src/pipeline/mediapipe-page.ts)
 * and the MediaPipe assets from `node_modules`, served by a static server on a
 * random 127.0.0.1 port under a random path. Images go to the page in batches
 * as raw RGB over the same server; the page answers 478 normalised
 * (x, y, z) points per image in MediaPipe's order, or null where it finds no face.
 *
 * Model sources: with `modelPath` (a `face_landmarker.task`), @mediapipe/tasks-vision's
 * FaceLandmarker; otherwise the attention mesh inside @mediapipe/face_mesh@0.4.1633559619
 * (the version the reference's demo uses; the latest aborts in headless
 * Chromium, mediapipe#3504).
 *
 * Off the network: Chromium resolves no host name (`--host-resolver-rules`),
 * sends anything not for loopback to a dead loopback proxy, runs no background
 * services, and the page's requests are routed so that any URL outside the
 * server's origin is aborted (and recorded in `offOrigin`). Node itself opens
 * no connection: it talks to Chromium over stdio pipes and only listens on loopback.
 *
 * Lifetime: `close()` ends the browser and the server. While a browser is open,
 * SIGINT/SIGTERM/SIGHUP kill it (its whole process group) before the process
 * exits with 128+signal, and playwright-core's exit hook kills it on any
 * `process.exit`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { format } from 'node:url';
import { delimiter, dirname, join, normalize, resolve, sep } from 'node:path';
import { ModelLoadError } from '../errors.js';
import type { RgbImage } from '../io/images.js';
import { pageHtml, type PageSource } from './mediapipe-page.js';
import { NUM_LANDMARKS } from './render.js';

const require = createRequire(import.meta.url);

export interface MediaPipeOptions {
  /** A `face_landmarker.task` for @mediapipe/tasks-vision; without it, face_mesh's attention mesh. */
  modelPath?: string;
  /** Chromium executable (default: env GANON_CHROMIUM, else findChromium()). */
  executable?: string;
  /** Minimum face detection confidence (the reference's 0.5). */
  minScore?: number;
  /** Most images per round trip to the page. */
  batchSize?: number;
  /** Limit for starting the page and loading the model, ms. */
  startTimeoutMs?: number;
  /** Limit per image, ms. */
  imageTimeoutMs?: number;
  /**
   * How face_mesh forgets the previous image: a black frame first ('blank',
   * the default) or a graph restart ('reset', 10x slower; the same points).
   */
  clear?: 'blank' | 'reset';
}

/** Where a Chromium binary is looked for, in order, after env GANON_CHROMIUM. */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/lib/chromium-browser/chromium-browser'];
const PATH_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/**
 * The Chromium to use: env GANON_CHROMIUM, Debian's real binary (not its
 * /usr/bin wrapper, which adds flags of its own), then the usual names on PATH.
 * null when there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env.GANON_CHROMIUM;
  if (given) return existsSync(given) ? given : null;
  for (const c of CANDIDATES) if (isFile(c)) return c;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const n of PATH_NAMES) if (dir && isFile(join(dir, n))) return join(dir, n);
  }
  return null;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Flags that keep Chromium off the network and give it a software WebGL2 context. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox', // runs as root in containers and CI; the page is our own
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--ignore-gpu-blocklist',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
  '--proxy-server=127.0.0.1:9', // loopback is never proxied; everything else goes nowhere
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-domain-reliability',
  '--disable-sync',
  '--disable-breakpad',
  '--disable-crash-reporter',
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-pings',
  '--no-first-run',
  '--no-default-browser-check',
  '--metrics-recording-only',
  '--disable-dev-shm-usage',
];

function packageDir(name: string): string {
  try {
    return dirname(require.resolve(name)); // both packages keep their assets beside the entry file
  } catch {
    throw new ModelLoadError(`the '${name}' package is not installed (run npm ci)`);
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
};

/** Page, assets and batches over loopback; nothing outside the two package folders and the model file. */
class AssetServer {
  readonly token = randomBytes(12).toString('hex');
  private server: Server | null = null;
  private batches = new Map<string, Buffer>();
  private nextBatch = 0;
  origin = '';

  constructor(private readonly source: PageSource, private readonly roots: Record<string, string>, private readonly modelPath?: string) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(0, '127.0.0.1', () => ok());
    });
    this.server = server;
    this.origin = format({ protocol: 'http', slashes: true, hostname: '127.0.0.1', port: (server.address() as AddressInfo).port });
  }

  get pageUrl(): string {
    return `${this.origin}/${this.token}/index.html`;
  }

  addBatch(bytes: Buffer): string {
    const id = String(this.nextBatch++);
    this.batches.set(id, bytes);
    return `${this.origin}/${this.token}/batch/${id}`;
  }

  dropBatch(url: string): void {
    this.batches.delete(url.slice(url.lastIndexOf('/') + 1));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = decodeURIComponent((req.url ?? '').split('?')[0] ?? '');
    const prefix = `/${this.token}/`;
    const send = (status: number, body: Buffer | string, type = 'application/octet-stream') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'cross-origin-resource-policy': 'same-origin' });
      res.end(body);
    };
    if (req.method !== 'GET' || !url.startsWith(prefix)) return send(404, 'not found', 'text/plain');
    const rest = url.slice(prefix.length);
    if (rest === 'index.html') return send(200, pageHtml(this.source), TYPES['.html']);
    if (rest === 'model.task' && this.modelPath) return send(200, readFileSync(this.modelPath));
    if (rest.startsWith('batch/')) {
      const bytes = this.batches.get(rest.slice(6));
      return bytes ? send(200, bytes) : send(404, 'no such batch', 'text/plain');
    }
    const slash = rest.indexOf('/');
    const root = this.roots[rest.slice(0, slash)];
    if (slash > 0 && root) {
      const file = resolve(root, normalize(rest.slice(slash + 1)));
      if (file.startsWith(root + sep) && isFile(file)) {
        const ext = file.slice(file.lastIndexOf('.'));
        return send(200, readFileSync(file), TYPES[ext] ?? 'application/octet-stream');
      }
    }
    send(404, 'not found', 'text/plain');
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.batches.clear();
    if (s) await new Promise<void>((ok) => { s.closeAllConnections(); s.close(() => ok()); });
  }
}

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

const SIGNALS: [NodeJS.Signals, number][] = [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]];

/** MediaPipe's 478-point mesh in headless Chromium; one instance per process, reused across images. */
export class MediaPipeLandmarker {
  readonly name = 'mediapipe' as const;
  /** Which graph runs: face_mesh's attention mesh, or tasks-vision on the given .task. */
  readonly source: PageSource;
  readonly description: string;
  /** Requests the page tried outside the loopback origin (all aborted); empty in a correct run. */
  readonly offOrigin: string[] = [];
  /** Every URL the page requested (for tests). */
  readonly requests: string[] = [];
  private browser: Browser | null = null;
  private page: Page | null = null;
  private readonly server: AssetServer;
  private readonly log: string[] = [];
  private readonly onSignal = new Map<NodeJS.Signals, () => void>();
  private closed = false;
  private crashed: string | null = null;

  private constructor(private readonly opts: MediaPipeOptions & { executable: string }) {
    this.source = opts.modelPath ? 'task' : 'face_mesh';
    this.description = `mediapipe (${opts.modelPath ? `tasks-vision FaceLandmarker, ${opts.modelPath}` : 'face_mesh 0.4.1633559619 attention mesh'}; Chromium ${opts.executable})`;
    this.server = new AssetServer(this.source, {
      face_mesh: packageDir('@mediapipe/face_mesh'),
      'tasks-vision': packageDir('@mediapipe/tasks-vision'),
    }, opts.modelPath);
  }

  /** Starts Chromium, loads the page and the model. Throws ModelLoadError with the reason when it cannot. */
  static async start(opts: MediaPipeOptions = {}): Promise<MediaPipeLandmarker> {
    const executable = opts.executable ?? findChromium();
    if (!executable) {
      const given = process.env.GANON_CHROMIUM ? ` (GANON_CHROMIUM='${process.env.GANON_CHROMIUM}' does not exist)` : '';
      throw new ModelLoadError(`--landmarks mediapipe needs Chromium${given}: install it (Debian/Ubuntu: apt-get install chromium) or set GANON_CHROMIUM to its executable`);
    }
    if (opts.modelPath !== undefined && !isFile(opts.modelPath)) throw new ModelLoadError(`--mediapipe-model '${opts.modelPath}' is not a file`);
    const m = new MediaPipeLandmarker({ ...opts, executable });
    try {
      await m.launch();
      return m;
    } catch (e) {
      await m.close();
      if (e instanceof ModelLoadError) throw e;
      throw new ModelLoadError(`MediaPipe in Chromium did not start: ${(e as Error).message.split('\n')[0]}${m.tail()}`);
    }
  }

  private tail(): string {
    return this.log.length ? `\n${this.log.slice(-8).join('\n')}` : '';
  }

  private async launch(): Promise<void> {
    await this.server.start();
    const { chromium } = await import('playwright-core');
    for (const [sig, code] of SIGNALS) {
      const h = () => {
        process.stderr.write(`\nganon: ${sig}: closing Chromium\n`);
        process.exit(code); // playwright-core's exit hook kills the browser's process group
      };
      this.onSignal.set(sig, h);
      process.on(sig, h);
    }
    this.browser = await chromium.launch({
      executablePath: this.opts.executable, headless: true, args: [...CHROMIUM_ARGS],
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false, timeout: this.opts.startTimeoutMs ?? 60_000,
      // no usable Google API keys (Debian's /usr/bin/chromium wrapper would export real ones)
      env: { ...process.env, GOOGLE_API_KEY: 'no', GOOGLE_DEFAULT_CLIENT_ID: 'no', GOOGLE_DEFAULT_CLIENT_SECRET: 'no' },
    });
    this.browser.on('disconnected', () => {
      if (!this.closed) this.crashed = 'Chromium exited';
    });
    const context = await this.browser.newContext({ serviceWorkers: 'block', acceptDownloads: false });
    const origin = this.server.origin;
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(`${origin}/`)) return route.continue();
      this.offOrigin.push(u);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    this.page = page;
    page.on('request', (r) => { this.requests.push(r.url()); });
    page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') this.log.push(`[page ${msg.type()}] ${msg.text()}`); });
    page.on('pageerror', (err) => { this.log.push(`[page error] ${err.message}`); });
    page.on('crash', () => { this.crashed = 'the page crashed'; });
    page.setDefaultTimeout(this.opts.startTimeoutMs ?? 120_000);
    await page.goto(this.server.pageUrl, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as unknown as { ganonLoaded?: boolean }).ganonLoaded === true);
    const webgl = await page.evaluate(() => !!document.createElement('canvas').getContext('webgl2'));
    if (!webgl) throw new ModelLoadError(`Chromium '${this.opts.executable}' gives no WebGL2 context (SwiftShader missing?)${this.tail()}`);
    await this.withTimeout(page.evaluate((o) => (window as unknown as { ganonInit(o: unknown): Promise<unknown> }).ganonInit(o), { minScore: this.opts.minScore ?? 0.5, clear: this.opts.clear ?? 'blank' }),
      this.opts.startTimeoutMs ?? 120_000, 'loading the MediaPipe model');
  }

  private async withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new ModelLoadError(`MediaPipe: ${what} took over ${ms / 1000} s${this.tail()}`)), ms); });
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * 478 x (x, y, z) per image, x and y normalised to the image's width and
   * height, z as MediaPipe gives it; null where MediaPipe finds no face.
   */
  async landmarks(images: RgbImage[]): Promise<(Float32Array | null)[]> {
    const out: (Float32Array | null)[] = [];
    const n = Math.max(1, Math.floor(this.opts.batchSize ?? 16));
    for (let i = 0; i < images.length; i += n) out.push(...(await this.batch(images.slice(i, i + n))));
    return out;
  }

  private async batch(images: RgbImage[]): Promise<(Float32Array | null)[]> {
    if (this.closed || !this.page) throw new ModelLoadError('the MediaPipe landmarker is closed');
    if (this.crashed) throw new ModelLoadError(`MediaPipe: ${this.crashed}${this.tail()}`);
    if (images.length === 0) return [];
    const url = this.server.addBatch(Buffer.concat(images.map((im) => Buffer.from(im.data.buffer, im.data.byteOffset, im.data.length))));
    const sizes = images.map((im) => [im.width, im.height]);
    let raw: (number[] | null)[];
    try {
      const page = this.page;
      raw = await this.withTimeout(
        page.evaluate(([u, s]) => (window as unknown as { ganonRun(u: string, s: unknown): Promise<(number[] | null)[]> }).ganonRun(u, s), [url, sizes] as const),
        (this.opts.imageTimeoutMs ?? 60_000) * images.length, `${images.length} image(s)`);
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      throw new ModelLoadError(`MediaPipe failed: ${(e as Error).message.split('\n')[0]}${this.tail()}`);
    } finally {
      this.server.dropBatch(url);
    }
    return raw.map((pts) => {
      if (pts === null) return null;
      if (pts.length !== NUM_LANDMARKS * 3) throw new ModelLoadError(`MediaPipe returned ${pts.length / 3} points, expected ${NUM_LANDMARKS} (refined landmarks)`);
      return Float32Array.from(pts);
    });
  }

  /** Ends Chromium and the server; safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    const b = this.browser;
    this.browser = null;
    this.page = null;
    try {
      if (b) await b.close().catch(() => undefined);
    } finally {
      for (const [sig, h] of this.onSignal) process.off(sig, h);
      this.onSignal.clear();
      await this.server.close();
    }
  }
}
