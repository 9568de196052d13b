// The demo's public entry, and the only demo module anything outside demo/ may import (eslint.config.js
// enforces it): the e2e test runs the very pipeline `npm run demo` runs, steps in through its hooks, and
// judges the outcome with its own tools, never with the demo's internals. In the other direction the demo
// takes the local cloud and its clients from test/stack/index.ts only.
export { buildDataset, type DatasetOptions, type DemoObject } from './dataset.js';
export { demoNames, type DemoNames, type Pipeline } from './setupCloud.js';
export type { OttProcess } from './cli.js';
export type { PipelineControl, PipelineHooks } from './pipeline.js';
export { runPipeline, type PipelineRun, type RunPipelineOptions } from './runPipeline.js';
// For the chaos run (bench/chaos): the same CLI processes, set-up and seeding, driven by its own script.
export { commandOptions, spawnOtt, jsonLines, type CliOptions } from './cli.js';
export { prepareCloud, type Prepared } from './prepare.js';
export { putOne } from './seed.js';
export { PROJECT } from './setupCloud.js';
export { dirRows, ErrorTopicAudit, heldClaims, type DirRow } from './state.js';
export { findLeaks } from './leaks.js';
