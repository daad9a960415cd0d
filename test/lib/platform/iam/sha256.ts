import {createHash, createHmac, type Hash, type Hmac} from 'node:crypto'

/** Minimal @smithy Checksum (sha256 / hmac-sha256) for signing hand-made requests in tests. */
export class Sha256 {
  private readonly h: Hash | Hmac
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret)
  }
  update(data: string | Uint8Array): void {
    this.h.update(data)
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
  reset(): void {}
}
