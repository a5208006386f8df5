/** The report library: what `ganon report` and the notebooks use. See docs/report.md. */
export { buildReport, collectReport, sampleSheetFromDirs, summaryLines, writeVegaFigure, type CollectedReport, type ReportOptions, type ReportResult, type WrittenFigure, type WrittenTable } from './report.js';
export { loadRun, loadRuns, readArrowRows, RUN_KINDS, type AttributesRunData, type ClassifierTrainingRunData, type EmotionRunData, type EmotionTrainingRunData, type GanTrainingRunData, type IdentityRunData, type LoadedRuns, type Provenance, type RunData, type RunKind, type Skipped } from './runs.js';
export { buildTables, formatCell, reportsTable, runLabels, table1, table2, table3, table4, table5, table6, type Cell, type Column, type ReportTable } from './tables.js';
export { buildFigures, classifierTrainingFigure, confusionFigure, figure7, figure9, ganSampleFigure, ganTrainingFigure, histogram, identityFigure, sampleSheetFigure, type ReportFigure, type VegaFigure, type VlSpec } from './figures.js';
export { markCounts, renderSvg, svgToPng, validateSpec } from './render.js';
export { inputsText, toArrow, toCsv, toMarkdownTable, toParquet } from './formats.js';
export { notebookRunDir, show, VEGA_LITE_MIME } from './notebook.js';
export { notebookCells, notebookModule, runNotebook, type NotebookRun } from './notebook-run.js';
