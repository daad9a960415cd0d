/**
 * Persistence of the CloudFormation state: one JSON file per stack under `<data>/cloudformation/stacks/`, written
 * atomically (temp file + rename) with mode 0600 — resource attributes may hold secrets (IAM access keys).
 */
import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {readJsonFileSync, writeJsonFileSync} from '../state-file.js'
import type {StackState} from './state.js'

export class StackStore {
  readonly dir: string

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'stacks')
  }

  private file(stackId: string): string {
    const uuid = stackId.split('/').pop() ?? stackId
    return join(this.dir, `${uuid.replace(/[^A-Za-z0-9-]/g, '_')}.json`)
  }

  /** Every stack ever created (deleted ones included), oldest first. */
  loadAll(): StackState[] {
    let names: string[]
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw error
    }
    const stacks = names.map((n) => readJsonFileSync<StackState>(join(this.dir, n))).filter((s): s is StackState => s !== undefined)
    return stacks.sort((a, b) => a.creationTime.localeCompare(b.creationTime))
  }

  save(stack: StackState): void {
    writeJsonFileSync(this.file(stack.stackId), stack, {mode: 0o600})
  }
}
