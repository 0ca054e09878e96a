// Notebook helpers. In a cell: `import { mount, restore, runStage, results, runs, status } from './dist/notebook/index.js';`
export {
  mount, restore, runStage, train, results, runPlot, runs, status, currentStage, notebookStages, stageFinished, stageNotebook, loadBook, remoteRunName, epochHistory, runMetrics,
  userError, DrivetrainError, TrainingInterrupted, DEFAULT_RUNBOOK, type StageOptions,
} from './cells.js';
export { inNotebook, show, showHtml, showSvg, LiveDisplay, type MimeBundle } from './display.js';
export { notebookProgress, type FinishInfo, type ProgressOptions, type ProgressView } from './progress.js';
export { lineChart, niceTicks, escapeXml, type Series, type ChartOptions } from './svg.js';
export { metricPanels, type EpochRecord, type StageData, type StepPoint, type PanelsOptions } from './charts.js';
export { htmlTable, textTable, htmlBar, textBar, escapeHtml, fmtCell, type Cell } from './html.js';
export { exportModel, predict, evaluate, sampleImages, stageDir, type StageRef } from './inference.js';
