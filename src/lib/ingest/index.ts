/**
 * The pure ingest core, shared by the CLI (`cape validate`, `cape ingest`) and the transform Lambda. No oclif, no
 * files read at run time, no printing: datasets come from JSON imported at build time plus cape.yaml definitions.
 */
export {CANONICAL, columnTypes, getDataset, loadDatasets} from './datasets.js'
export type {Column, ColumnType, Dataset, Datasets, Variant} from './datasets.js'
export {transforms, transformNames, renameColumns, bindTransforms} from './transforms.js'
export type {BoundTransform, Transform, TransformChain} from './transforms.js'
export {detectDataset} from './detect.js'
export type {DetectResult, HeaderMatch} from './detect.js'
export {createIngestPipeline, validateStream, DEFAULT_MAX_ERRORS, DEFAULT_MAX_RECORD_BYTES} from './pipeline.js'
export type {IngestOptions, IngestPipeline, OutputFormat} from './pipeline.js'
export {renderIssue, renderReport, reportToError} from './report.js'
export type {IngestReport, IngestSummary, Issue, IssueRule} from './report.js'
export {parquetSchema, DEFAULT_ROW_GROUP_SIZE} from './writers.js'
