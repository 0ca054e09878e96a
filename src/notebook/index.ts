// Notebook helpers. In a cell: `import { mount, restore, runStage, results, runs, status } from './src/notebook';`
export {
  mount, restore, runStage, train, results, runs, status, currentStage, notebookStages, stageFinished, stageNotebook, loadBook, remoteRunName, epochHistory, userError, DrivetrainError,
  DEFAULT_RUNBOOK, type StageOptions,
} from './cells.js';
export { inNotebook, show, showHtml, showSvg, LiveDisplay, type MimeBundle } from './display.js';
export { notebookProgress, type ProgressOptions, type ProgressView } from './progress.js';
export { lineChart, metricsCharts, niceTicks, escapeXml, type Series, type ChartOptions, type EpochRecord } from './svg.js';
export { htmlTable, textTable, htmlBar, textBar, escapeHtml, fmtCell, type Cell } from './html.js';
export { exportModel, predict, evaluate, sampleImages, stageDir, type StageRef } from './inference.js';
