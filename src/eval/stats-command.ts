/**
 * `ganon stats ...`: paired-sample statistics. src/cli.ts mounts it with
 * `.command('stats', 'paired-sample statistics (Wilcoxon, Shapiro, Bonferroni)', statsCommand)`.
 */
import type { Argv } from 'yargs';
import { formatPairedTable, pairedReport, readPairedTable } from './paired.js';
import { WILCOXON_METHODS, ZERO_METHODS } from './stats.js';

export function statsCommand(y: Argv) {
  return y
    .command('paired', 'Wilcoxon signed-rank of column a vs b (per group, Bonferroni across groups), Shapiro-Wilk, effect size r', (a) => a
      .option('input', { type: 'string', demandOption: true, describe: 'table: .csv with a header row, or an Arrow IPC file (.arrow)' })
      .option('a', { type: 'string', demandOption: true, describe: 'column of the first measurement (x in scipy.stats.wilcoxon(x, y))' })
      .option('b', { type: 'string', demandOption: true, describe: 'column of the second measurement' })
      .option('group', { type: 'string', describe: 'column to group by: one test per value, Bonferroni across the groups' })
      .option('zero-method', { type: 'string', choices: ZERO_METHODS, default: 'wilcox' as const, describe: 'zero differences: wilcox drops them, pratt ranks them, zsplit splits their ranks (scipy)' })
      .option('correction', { type: 'boolean', default: false, describe: 'continuity correction of z (normal approximation)' })
      .option('method', { type: 'string', choices: WILCOXON_METHODS, default: 'auto' as const, describe: 'p-value: auto (as scipy 1.17), exact, approx (normal, reports z)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
    async (a) => {
      const table = await readPairedTable(a.input);
      const report = pairedReport(table.rows, {
        a: a.a, b: a.b, group: a.group, zeroMethod: a.zeroMethod, correction: a.correction, method: a.method,
      });
      process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatPairedTable(report)}\n`);
    })
    .demandCommand(1, 'name a stats subcommand: paired');
}
