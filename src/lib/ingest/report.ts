import {inputRejected, type CapeError} from '../cli/errors.js'

/**
 * Every kind of problem the ingest core reports. Stable strings: scripts, the Lambda's stored reports and the
 * tests match on them.
 *
 * File-level (fatal: processing stops at the first one): `encoding`, `empty-file`, `line-endings`, `delimiter`,
 * `csv-syntax`, `record-too-large`, `header-duplicate`, `header-unknown`, `header-missing`, `header-unexpected`.
 * Row-level (every row is checked): `ragged`, `required`, `unique`, `integer`, `number`, `boolean`, `date`, `pattern`.
 */
export type IssueRule =
  | 'encoding'
  | 'empty-file'
  | 'line-endings'
  | 'delimiter'
  | 'csv-syntax'
  | 'record-too-large'
  | 'header-duplicate'
  | 'header-unknown'
  | 'header-missing'
  | 'header-unexpected'
  | 'ragged'
  | 'required'
  | 'unique'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'date'
  | 'timestamp'
  | 'pattern'

export interface Issue {
  rule: IssueRule
  /** Physical line in the file (1-based; BOM and CRLF aware; a value inside a multi-line quoted field is reported on the line where that field starts). Absent only for `empty-file`. */
  line?: number
  /** Canonical column name (after transforms). For header problems, the header name concerned. */
  column?: string
  /** The column's name in the file when it differs from the canonical one (e.g. `Date of Birth` for `DOB`). */
  sourceColumn?: string
  /** The offending value, verbatim. */
  value?: string
  /** What is wrong, in words, without the file/line/column prefix (the renderer adds those). */
  message: string
  /** Suggestions for the person fixing the file. */
  hints?: string[]
  /** True when this problem stopped processing of the rest of the file. */
  fatal?: boolean
}

export interface IngestSummary {
  /** Data rows seen (not counting the header and blank lines). */
  rows: number
  /** Rows that passed every check (only these are written to the curated output). */
  validRows: number
  invalidRows: number
  /** Number of issues per rule, counting those beyond maxErrors too. */
  errorsByRule: Partial<Record<IssueRule, number>>
}

export interface IngestReport {
  /** Detected (or forced) dataset; null when the header could not be matched. */
  dataset: string | null
  variant: string | null
  /** Names of the transforms applied to reach the canonical form, in order. */
  transforms: string[]
  /** Canonical column names, in output order ([] when no dataset was matched). */
  columns: string[]
  rows: number
  /** True when the file had no problem at all (header-only files are valid, with 0 rows). */
  valid: boolean
  /** False when a fatal problem stopped processing before the end of the file. */
  complete: boolean
  /** The first maxErrors problems, in file order. */
  errors: Issue[]
  /** Total number of problems, including those not listed in `errors`. */
  errorCount: number
  summary: IngestSummary
}

const truncate = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s)

/** Quote a value for a message: JSON string syntax makes newlines, tabs and quotes visible. */
export const showValue = (value: string): string => truncate(JSON.stringify(value), 82)

/** One line for one issue: `file:LINE: COLUMN: message (rule: RULE)`. */
export function renderIssue(issue: Issue, file = '<input>'): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}`
  const source = issue.sourceColumn === undefined ? '' : ` (${JSON.stringify(issue.sourceColumn)} in the file)`
  const column = issue.column === undefined || issue.rule.startsWith('header-') ? '' : `${issue.column}${source}: `
  return `${where}: ${column}${issue.message} (rule: ${issue.rule})`
}

/**
 * The human text of a report (no colour, no trailing newline): one headline, one line per listed problem with its
 * hints indented below, then the count of the problems not listed and the per-rule totals.
 */
export function renderReport(report: IngestReport, options: {file?: string} = {}): string {
  const file = options.file ?? '<input>'
  const lines: string[] = []
  const what = report.dataset === null
    ? 'no dataset recognised'
    : `dataset ${report.dataset} (variant ${report.variant}${report.transforms.length > 0 ? `, transforms: ${report.transforms.join(', ')}` : ''})`
  const {rows, validRows, invalidRows} = report.summary
  const rowText = `${rows} ${rows === 1 ? 'row' : 'rows'}`
  if (report.valid) {
    lines.push(`${file}: valid — ${what}, ${rowText}`)
  } else {
    const problems = `${report.errorCount} ${report.errorCount === 1 ? 'problem' : 'problems'}`
    const stopped = report.complete ? '' : ', stopped early'
    lines.push(`${file}: invalid — ${what}, ${rowText} (${validRows} valid, ${invalidRows} invalid), ${problems}${stopped}`)
  }
  for (const issue of report.errors) {
    lines.push(renderIssue(issue, file))
    for (const hint of issue.hints ?? []) lines.push(`    ${hint}`)
  }
  const more = report.errorCount - report.errors.length
  if (more > 0) lines.push(`… and ${more} more ${more === 1 ? 'problem' : 'problems'} not listed`)
  const byRule = Object.entries(report.summary.errorsByRule)
  if (byRule.length > 0) lines.push(`problems by rule: ${byRule.map(([rule, n]) => `${rule} ${n}`).join(', ')}`)
  return lines.join('\n')
}

/** Stable CapeError codes for a rejected file, by the first problem's rule. */
const errorCodes: Record<IssueRule, string> = {
  encoding: 'CSV_ENCODING',
  'empty-file': 'CSV_EMPTY',
  'line-endings': 'CSV_LINE_ENDINGS',
  delimiter: 'CSV_DELIMITER',
  'csv-syntax': 'CSV_SYNTAX',
  'record-too-large': 'CSV_RECORD_TOO_LARGE',
  'header-duplicate': 'CSV_HEADER_DUPLICATE',
  'header-unknown': 'CSV_HEADER_UNKNOWN',
  'header-missing': 'CSV_HEADER_MISMATCH',
  'header-unexpected': 'CSV_HEADER_MISMATCH',
  ragged: 'CSV_INVALID',
  required: 'CSV_INVALID',
  unique: 'CSV_INVALID',
  integer: 'CSV_INVALID',
  number: 'CSV_INVALID',
  boolean: 'CSV_INVALID',
  date: 'CSV_INVALID',
  timestamp: 'CSV_INVALID',
  pattern: 'CSV_INVALID',
}

/**
 * The CapeError (exit inputRejected) for an invalid report, or undefined when the report is valid. The code comes
 * from the fatal problem if any (e.g. CSV_ENCODING, CSV_DELIMITER, CSV_HEADER_UNKNOWN), else CSV_INVALID; the message
 * is the first problem; the whole report is in `data.report`. Callers that print the report first (`cape validate`)
 * can throw this to get the exit code.
 */
export function reportToError(report: IngestReport, options: {file?: string} = {}): CapeError | undefined {
  if (report.valid) return undefined
  const file = options.file ?? '<input>'
  const first = report.errors.find((e) => e.fatal) ?? report.errors[0]
  const code = first ? errorCodes[first.rule] : 'CSV_INVALID'
  const headline = first === undefined
    ? `${file}: rejected`
    : report.errorCount === 1
      ? renderIssue(first, file)
      : `${renderIssue(first, file)} — and ${report.errorCount - 1} more (${Object.entries(report.summary.errorsByRule).map(([r, n]) => `${r} ${n}`).join(', ')})`
  return inputRejected(code, headline, first?.hints ?? [], {report})
}
