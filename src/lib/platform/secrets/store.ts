import {join} from 'node:path'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'

export interface SecretVersion {
  versionId: string
  secretString?: string
  /** base64 */
  secretBinary?: string
  created: string
  stages: string[]
}

/** One secret as the local platform keeps it (the file is mode 0600). */
export interface StoredSecret {
  name: string
  arn: string
  description?: string
  created: string
  lastChanged: string
  /** Set when deleted with a recovery window: the secret answers InvalidRequestException until then. */
  deletionDate?: string
  versions: SecretVersion[]
}

interface SecretFile {
  secrets: Record<string, StoredSecret>
}

/** Secrets by name, persisted atomically under `<data>/secrets/secrets.json` on every change. */
export class SecretStore {
  private readonly secrets: Map<string, StoredSecret>

  private constructor(private readonly file: string, initial: SecretFile | undefined) {
    this.secrets = new Map(Object.entries(initial?.secrets ?? {}))
  }

  static open(dataDir: string): SecretStore {
    const file = join(dataDir, 'secrets.json')
    return new SecretStore(file, readJsonFileSync<SecretFile>(file))
  }

  /** By name or by ARN (the full ARN, suffix included). */
  find(id: string): StoredSecret | undefined {
    if (id.startsWith('arn:')) return [...this.secrets.values()].find((s) => s.arn === id)
    return this.secrets.get(id)
  }

  put(secret: StoredSecret): void {
    this.secrets.set(secret.name, secret)
    this.save()
  }

  delete(name: string): void {
    this.secrets.delete(name)
    this.save()
  }

  private save(): void {
    writeJsonFileSync(this.file, {secrets: Object.fromEntries(this.secrets)} satisfies SecretFile, {mode: 0o600})
  }
}
