import {inputRejected} from '../cli/errors.js'
import type {ResultColumn, ResultRow} from './execute.js'
import {isNumericType} from './render.js'

/** Most bars a chart draws: more would not be read anyway. */
export const MAX_BARS = 500
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']

/** Check that a result can be a bar chart: two columns, the second numeric. Throws a clear error otherwise. */
export function checkChartable(columns: ResultColumn[]): void {
  const shape = columns.map((c) => `${c.name} (${c.type})`).join(', ')
  if (columns.length !== 2 || !isNumericType(columns[1].type)) {
    throw inputRejected('CHART_SHAPE', `--chart bar needs two columns, a label and a number; this result has ${columns.length === 0 ? 'no columns' : shape}.`, [
      'Select the label first and a number second, e.g. SELECT site, count(*) AS n FROM participants GROUP BY site',
    ])
  }
}

/** A bar of `units` eighths of a cell, in unicode blocks. */
export const bar = (eighths: number): string => '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]

/**
 * A horizontal bar chart of (label, number) rows scaled to `width` terminal columns: label, bar, value.
 * NULL values are drawn as no bar with the value NULL; negative values are refused.
 */
export function renderBarChart(columns: ResultColumn[], rows: ResultRow[], width = 80): string[] {
  checkChartable(columns)
  if (rows.length > MAX_BARS) {
    throw inputRejected('CHART_TOO_MANY_BARS', `--chart bar draws at most ${MAX_BARS} bars; the result has ${rows.length} rows.`, ['Add a LIMIT, or group more coarsely.'])
  }
  const values = rows.map((r) => (r[1] === null || r[1] === '' ? null : Number(r[1])))
  const bad = values.findIndex((v) => v !== null && (!Number.isFinite(v) || v < 0))
  if (bad !== -1) throw inputRejected('CHART_VALUE', `--chart bar draws non-negative numbers; row ${bad + 1} has ${JSON.stringify(rows[bad][1])}.`)
  const labels = rows.map((r) => (r[0] === null ? 'NULL' : r[0].replaceAll(/\s+/g, ' ')))
  const labelWidth = Math.min(30, Math.max(columns[0].name.length, ...labels.map((l) => l.length)))
  const valueText = values.map((v, i) => (v === null ? 'NULL' : rows[i][1]!))
  const valueWidth = Math.max(...valueText.map((t) => t.length), 1)
  const barWidth = Math.max(10, width - labelWidth - valueWidth - 4)
  const max = Math.max(0, ...values.map((v) => v ?? 0))
  const lines = [`${columns[0].name.padEnd(labelWidth)}  ${columns[1].name}`]
  for (const [i, label] of labels.entries()) {
    const eighths = max === 0 || values[i] === null ? 0 : Math.round((values[i]! / max) * barWidth * 8)
    const fitted = label.length > labelWidth ? `${label.slice(0, labelWidth - 1)}…` : label.padEnd(labelWidth)
    lines.push(`${fitted}  ${bar(eighths)} ${valueText[i]}`.trimEnd())
  }
  return lines
}
