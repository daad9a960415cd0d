/**
 * The broken fixtures (fixtures/README.md) and the problems each must produce, in file order:
 * [line, rule, column?]. Shared by the validate and ingest tests: both report through the same pipeline.
 */
export const BROKEN_FIXTURES: Record<string, Array<[number | undefined, string, string?]>> = {
  'participants_bad_dates.csv': [[4, 'date', 'DOB'], [5, 'date', 'DOB'], [6, 'date', 'DOB'], [8, 'date', 'DOB'], [11, 'date', 'DOB']],
  'participants_duplicate_id.csv': [[7, 'unique', 'participant_id'], [8, 'unique', 'participant_id']],
  'participants_missing_site.csv': [[3, 'required', 'site'], [5, 'required', 'site'], [6, 'required', 'participant_id'], [6, 'required', 'site']],
  'participants_ragged.csv': [[3, 'ragged'], [5, 'ragged']],
  'participants_semicolon.csv': [[1, 'delimiter']],
  'participants_duplicate_header.csv': [[1, 'header-duplicate']],
  'participants_unknown_header.csv': [[1, 'header-unknown']],
  'participants_latin1.csv': [[5, 'encoding']],
  'empty.csv': [[undefined, 'empty-file']],
  'binary.csv': [[1, 'encoding']],
}

/** The same, as [line, rule] pairs. */
export const brokenLinesAndRules = (name: string): Array<[number | undefined, string]> => BROKEN_FIXTURES[name].map(([line, rule]) => [line, rule])
