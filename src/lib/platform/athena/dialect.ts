import {dateValue, timestampValue, type DuckDBValue} from '@duckdb/node-api'

/**
 * Athena's SQL (Trino's dialect) on DuckDB: what the local engine sets up so the common cases answer as Athena
 * does, what it refuses, how ExecutionParameters become typed values (never text spliced into SQL), and how
 * DuckDB's errors become Athena's reasons (`SYNTAX_ERROR: line 1:8: …`). The subset is documented in
 * docs/local-platform.md; every construct whose answer would differ is refused with a clear error.
 */

/** A query the engine refuses: Athena's error type and a message. */
export class DialectError extends Error {
  readonly errorType: string
  constructor(errorType: string, message: string) {
    super(message)
    this.errorType = errorType
  }
}

/** Session settings and macros run on every query's connection before the views. */
export const SESSION_SQL = [
  // Trino: integer / integer is an integer (DuckDB's default would answer 2.5 for 5/2)
  'SET integer_division = true',
  // Trino names DuckDB spells differently
  'CREATE MACRO approx_distinct(x) AS approx_count_distinct(x)',
  'CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE MACRO array_join(a, sep) AS array_to_string(a, sep)',
  'CREATE MACRO cardinality(a) AS len(a)',
  'CREATE MACRO day_of_week(d) AS isodow(d)',
  'CREATE MACRO dow(d) AS isodow(d)',
  'CREATE MACRO to_unixtime(t) AS epoch(t)',
  'CREATE MACRO from_iso8601_date(s) AS CAST(s AS DATE)',
]

/** Functions DuckDB has under the same name with another meaning: refused rather than answered differently. */
const DIFFERENT_MEANING: Record<string, string> = {
  format: 'Trino\'s format() takes Java format strings; DuckDB\'s takes {} placeholders',
  date_add: 'DuckDB\'s date_add(date, interval) is not Trino\'s date_add(unit, value, timestamp): write `d + INTERVAL \'1\' DAY`',
  date_sub: 'write `d - INTERVAL \'1\' DAY`',
  json_extract: 'JSON path semantics differ',
  json_extract_scalar: 'JSON path semantics differ',
  histogram: 'DuckDB\'s histogram() returns another shape',
  floor: 'DuckDB answers a double for an integer, Trino an integer: integer division already rounds down (`x / 10 * 10`); for a double, round()',
  ceil: 'DuckDB answers a double for an integer, Trino an integer',
  ceiling: 'DuckDB answers a double for an integer, Trino an integer',
  typeof: 'DuckDB names types in upper case (DATE), Trino in lower case (date)',
}

/** Statements other than queries: Athena runs them, the local engine does not (the catalog is Glue's API). */
const NOT_A_QUERY = /^\s*(CREATE|DROP|ALTER|INSERT|DELETE|UPDATE|MERGE|MSCK|SHOW|DESCRIBE|EXPLAIN|USE|SET|RESET|PREPARE|EXECUTE|DEALLOCATE|VACUUM|OPTIMIZE|GRANT|REVOKE|CALL|COPY|ATTACH|INSTALL|LOAD|PRAGMA|EXPORT|IMPORT|CHECKPOINT|UNLOAD)\b/i

/**
 * The SQL with string literals and quoted identifiers filled with `_`, and comments with spaces (same length), for
 * scanning keywords: what is left is code.
 */
export function codeOnly(sql: string): string {
  return sql.replaceAll(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, (m) => (m.startsWith('-') || m.startsWith('/') ? ' ' : '_').repeat(m.length))
}

/** Athena's StatementType for a query text. */
export function statementType(sql: string): 'DML' | 'DDL' | 'UTILITY' {
  const first = /^\s*(\w+)/.exec(codeOnly(sql))?.[1]?.toUpperCase() ?? ''
  if (['SHOW', 'DESCRIBE', 'EXPLAIN', 'USE'].includes(first)) return 'UTILITY'
  if (['CREATE', 'DROP', 'ALTER', 'MSCK'].includes(first)) return 'DDL'
  return 'DML'
}

/** Refuses what the local engine cannot answer as Athena would; returns the statement without a trailing `;`. */
export function checkQuery(sql: string): string {
  const code = codeOnly(sql)
  const trimmedEnd = code.replace(/[\s;]*$/, '')
  if (trimmedEnd.trim() === '') throw new DialectError('SYNTAX_ERROR', 'line 1:1: the query is empty')
  if (trimmedEnd.includes(';')) {
    throw new DialectError('SYNTAX_ERROR', `${position(sql, trimmedEnd.indexOf(';'))}: only one statement per query (Athena runs one statement per StartQueryExecution)`)
  }
  const verb = NOT_A_QUERY.exec(code)
  if (verb) {
    throw new DialectError('NOT_SUPPORTED', `line 1:1: ${verb[1]!.toUpperCase()} statements are not run by the cape local engine: it runs queries (SELECT, WITH, VALUES); tables come from the Glue API (cape tables)`)
  }
  for (const match of code.matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/gi)) {
    const reason = DIFFERENT_MEANING[match[1]!.toLowerCase()]
    if (reason) throw new DialectError('NOT_SUPPORTED', `${position(sql, match.index)}: function ${match[1]} is not supported by the cape local engine (${reason})`)
  }
  return sql.slice(0, trimmedEnd.length)
}

/** `line L:C` (1-based) of a character offset. */
export function position(sql: string, offset: number): string {
  const before = sql.slice(0, offset)
  const line = before.split('\n').length
  const column = offset - before.lastIndexOf('\n')
  return `line ${line}:${column}`
}

/**
 * ExecutionParameters are SQL literals as text (`'O''Brien'`, `42`, `1.5`, `DATE '2020-01-01'`, `true`, `NULL`):
 * each becomes one typed value bound to a `?` — the text is parsed, never spliced into the query.
 */
export function parseParameter(text: string, index: number): DuckDBValue {
  const t = text.trim()
  if (/^'(?:[^']|'')*'$/.test(t)) return t.slice(1, -1).replaceAll("''", "'")
  if (/^[+-]?\d+$/.test(t)) {
    const n = BigInt(t)
    return n >= -(2n ** 31n) && n < 2n ** 31n ? Number(n) : n
  }
  if (/^[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?\d+[eE][+-]?\d+$/.test(t)) return Number(t)
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  if (/^null$/i.test(t)) return null
  const date = /^DATE\s*'(\d{4})-(\d{2})-(\d{2})'$/i.exec(t)
  if (date) return dateValue({year: Number(date[1]), month: Number(date[2]), day: Number(date[3])})
  const ts = /^TIMESTAMP\s*'(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)'$/i.exec(t)
  if (ts) {
    const ms = Date.parse(`${ts[1]}T${ts[2]}Z`)
    const micros = /\.(\d+)$/.exec(ts[2]!)?.[1]?.padEnd(6, '0').slice(3) ?? '000'
    if (Number.isFinite(ms)) return timestampValue(BigInt(ms) * 1000n + BigInt(micros))
  }
  throw new DialectError('INVALID_PARAMETER', `ExecutionParameters[${index}]: ${JSON.stringify(text)} is not a SQL literal (a 'quoted string', a number, true/false, NULL, DATE '…' or TIMESTAMP '…')`)
}

/** Glue (Hive) column type → DuckDB type; complex types are refused. */
export function duckType(glueType: string): string {
  const t = glueType.trim().toLowerCase()
  const decimal = /^decimal\s*\((\d+)\s*,\s*(\d+)\)$/.exec(t)
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`
  if (/^(var)?char\(\d+\)$/.test(t)) return 'VARCHAR'
  const simple: Record<string, string> = {
    string: 'VARCHAR', varchar: 'VARCHAR', char: 'VARCHAR', int: 'INTEGER', integer: 'INTEGER', bigint: 'BIGINT', smallint: 'SMALLINT',
    tinyint: 'TINYINT', double: 'DOUBLE', float: 'FLOAT', real: 'FLOAT', boolean: 'BOOLEAN', date: 'DATE', timestamp: 'TIMESTAMP',
    binary: 'BLOB', decimal: 'DECIMAL(10,0)',
  }
  const mapped = simple[t]
  if (!mapped) throw new DialectError('NOT_SUPPORTED', `column type ${glueType} is not supported by the cape local engine (scalar types only)`)
  return mapped
}

/** DuckDB result type → Athena's ColumnInfo (Type, Precision, Scale). */
export function athenaColumnType(duck: string): {Type: string; Precision: number; Scale: number} {
  const t = duck.toUpperCase()
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(t)
  if (decimal) return {Type: 'decimal', Precision: Number(decimal[1]), Scale: Number(decimal[2])}
  const names: Record<string, [string, number]> = {
    VARCHAR: ['varchar', 2147483647], INTEGER: ['integer', 10], BIGINT: ['bigint', 19], HUGEINT: ['bigint', 19], UBIGINT: ['bigint', 19],
    SMALLINT: ['smallint', 5], TINYINT: ['tinyint', 3], UINTEGER: ['bigint', 19], DOUBLE: ['double', 17], FLOAT: ['float', 17],
    BOOLEAN: ['boolean', 0], DATE: ['date', 0], TIMESTAMP: ['timestamp', 3], 'TIMESTAMP WITH TIME ZONE': ['timestamp with time zone', 3],
    BLOB: ['varbinary', 2147483647], INTERVAL: ['interval day to second', 0], '"NULL"': ['unknown', 0], NULL: ['unknown', 0],
  }
  const hit = names[t]
  if (hit) return {Type: hit[0], Precision: hit[1], Scale: 0}
  if (t.endsWith('[]')) return {Type: 'array', Precision: 0, Scale: 0}
  if (t.startsWith('STRUCT')) return {Type: 'row', Precision: 0, Scale: 0}
  if (t.startsWith('MAP')) return {Type: 'map', Precision: 0, Scale: 0}
  return {Type: t.toLowerCase(), Precision: 0, Scale: 0}
}

const ERROR_TYPES: Array<[RegExp, string]> = [
  [/^Parser Error/, 'SYNTAX_ERROR'],
  [/^Binder Error: Referenced column/, 'COLUMN_NOT_FOUND'],
  [/^Catalog Error: Table with name/, 'TABLE_NOT_FOUND'],
  [/^Catalog Error: (Scalar|Aggregate|Table) Function with name/, 'FUNCTION_NOT_FOUND'],
  [/^Binder Error: No function matches/, 'FUNCTION_NOT_FOUND'],
  [/^Conversion Error/, 'INVALID_CAST_ARGUMENT'],
  [/^Invalid Input Error/, 'INVALID_FUNCTION_ARGUMENT'],
  [/^Out of Range Error/, 'NUMERIC_VALUE_OUT_OF_RANGE'],
  [/^(Binder|Catalog) Error/, 'SYNTAX_ERROR'],
  [/^INTERRUPT/i, 'USER_CANCELLED'],
]

/** DuckDB's error → Athena's reason: `<TYPE>: line L:C: <message>` (the position from DuckDB's caret). */
export function athenaReason(sql: string, message: string): {errorType: string; reason: string} {
  const errorType = ERROR_TYPES.find(([re]) => re.test(message))?.[1] ?? 'GENERIC_INTERNAL_ERROR'
  const [head = message] = message.split('\n')
  const text = head.replace(/^[A-Za-z ]+ Error: /, '').replace(/!$/, '').replace(/ in FROM clause$/, '')
  const where = caretPosition(sql, message)
  return {errorType, reason: `${errorType}: ${where ? `${where}: ` : ''}${text}`}
}

/** DuckDB prints `LINE n: <snippet>` and a caret line under it; the snippet may start with `...`. */
function caretPosition(sql: string, message: string): string | undefined {
  const lines = message.split('\n')
  const at = lines.findIndex((l) => /^LINE \d+: /.test(l))
  const caretLine = lines[at + 1]
  if (at < 0 || caretLine === undefined || !caretLine.includes('^')) return undefined
  const [, lineNo = '1', snippetRaw = ''] = /^LINE (\d+): (.*)$/.exec(lines[at]!) ?? []
  const prefixLength = lines[at]!.length - snippetRaw.length
  const truncated = snippetRaw.startsWith('...')
  const snippet = truncated ? snippetRaw.slice(3) : snippetRaw
  const sourceLine = sql.split('\n')[Number(lineNo) - 1] ?? ''
  const offsetInLine = truncated ? Math.max(0, sourceLine.indexOf(snippet.replace(/\.\.\.$/, '').slice(0, 40))) : 0
  const column = offsetInLine + (caretLine.indexOf('^') - prefixLength - (truncated ? 3 : 0)) + 1
  return `line ${lineNo}:${Math.max(1, column)}`
}
