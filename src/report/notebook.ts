/**
 * What the notebooks (notebooks/*.ipynb) call to show a table or a figure. In a Jupyter kernel
 * that offers rich display (tslab's `display`, Deno's `Deno.jupyter.display`), a table is shown as
 * HTML and a figure as the Vega-Lite MIME bundle, which Jupyter renders natively; anywhere else (tsx,
 * the notebook test) the same call prints the table as markdown and a one-line account of the figure.
 */
import { fileURLToPath } from 'node:url';
import { inputsText, toHtmlTable, toMarkdownTable } from './formats.js';
import type { ReportFigure } from './figures.js';
import type { ReportTable } from './tables.js';

export const VEGA_LITE_MIME = 'application/vnd.vegalite.v6+json';

type Bundle = Record<string, unknown>;
type Displayer = (bundle: Bundle) => void;

let displayer: Displayer | null | undefined;

async function findDisplayer(): Promise<Displayer | null> {
  const deno = (globalThis as { Deno?: { jupyter?: { display?: (b: Bundle, o: { raw: boolean }) => unknown } } }).Deno;
  if (deno?.jupyter?.display) return (b) => void deno.jupyter!.display!(b, { raw: true });
  try {
    const name = 'tslab';
    const tslab = (await import(name)) as { display?: { raw?: (type: string, s: string) => void } };
    const raw = tslab.display?.raw;
    if (raw) {
      return (b) => {
        const [type, value] = Object.entries(b)[0]!;
        raw(type, typeof value === 'string' ? value : JSON.stringify(value));
      };
    }
  } catch {
    // not inside tslab
  }
  return null;
}

/** Shows a table, a figure, or text; returns what it printed in plain text (for tests). */
export async function show(x: ReportTable | ReportFigure | string): Promise<string> {
  if (displayer === undefined) displayer = await findDisplayer();
  let bundle: Bundle;
  let textOut: string;
  if (typeof x === 'string') {
    bundle = { 'text/markdown': x };
    textOut = x;
  } else if ('columns' in x) {
    bundle = { 'text/html': `<h4>${x.paper}: ${x.title}</h4>${toHtmlTable(x)}<p><i>${inputsText(x.inputs)}</i></p>` };
    textOut = `### ${x.paper}: ${x.title}\n\n${toMarkdownTable(x)}\n\n${inputsText(x.inputs)}`;
  } else if (x.type === 'vega') {
    bundle = { [VEGA_LITE_MIME]: x.spec };
    textOut = `[figure ${x.id}: ${x.title}; Vega-Lite spec with ${JSON.stringify(x.spec).length} characters]\n${inputsText(x.inputs)}`;
  } else {
    const { readFileSync } = await import('node:fs');
    bundle = { 'image/png': readFileSync(x.path).toString('base64') };
    textOut = `[image ${x.id}: ${x.path}]`;
  }
  if (displayer) displayer(bundle);
  else process.stdout.write(`${textOut}\n`);
  return textOut;
}

/** The run directory a notebook reads: $GANON_RUN_DIR, else the demo's output folder (<repo>/runs/demo). */
export function notebookRunDir(fallback = fileURLToPath(new URL('../../runs/demo', import.meta.url))): string {
  return process.env.GANON_RUN_DIR ?? fallback;
}
