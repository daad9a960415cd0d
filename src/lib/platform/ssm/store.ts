import {join} from 'node:path'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'

/** One SSM parameter as the local platform keeps it (the file is mode 0600: SecureString values are in it). */
export interface StoredParameter {
  name: string
  type: 'String' | 'StringList' | 'SecureString'
  value: string
  version: number
  description?: string
  /** ISO 8601 */
  lastModified: string
  lastModifiedUser: string
}

interface ParameterFile {
  parameters: Record<string, StoredParameter>
}

/** Parameter Store: a name → parameter map persisted atomically under `<data>/ssm/parameters.json` on every change. */
export class ParameterStore {
  private readonly parameters: Map<string, StoredParameter>

  private constructor(private readonly file: string, initial: ParameterFile | undefined) {
    this.parameters = new Map(Object.entries(initial?.parameters ?? {}))
  }

  static open(dataDir: string): ParameterStore {
    const file = join(dataDir, 'parameters.json')
    return new ParameterStore(file, readJsonFileSync<ParameterFile>(file))
  }

  get(name: string): StoredParameter | undefined {
    return this.parameters.get(name)
  }

  put(parameter: StoredParameter): void {
    this.parameters.set(parameter.name, parameter)
    this.save()
  }

  delete(name: string): boolean {
    const had = this.parameters.delete(name)
    if (had) this.save()
    return had
  }

  /** Every parameter, sorted by name. */
  list(): StoredParameter[] {
    return [...this.parameters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  private save(): void {
    writeJsonFileSync(this.file, {parameters: Object.fromEntries(this.parameters)} satisfies ParameterFile, {mode: 0o600})
  }
}
