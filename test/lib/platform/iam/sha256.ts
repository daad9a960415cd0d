import {createHash, createHmac, type Hash, type Hmac} from 'node:crypto'

type Source = string | ArrayBuffer | ArrayBufferView

const bytes = (d: Source): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength)

/** Minimal @smithy Checksum (sha256 / hmac-sha256) for signing hand-made requests in tests. */
export class Sha256 {
  private h: Hash | Hmac
  private readonly secret?: Source
  constructor(secret?: Source) {
    this.secret = secret
    this.h = this.fresh()
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret))
  }
  update(data: Uint8Array): void {
    this.h.update(data)
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest())
  }
  reset(): void {
    this.h = this.fresh()
  }
}
