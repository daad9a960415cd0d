/**
 * Sign a request without hashing its body (`x-amz-content-sha256: UNSIGNED-PAYLOAD`), for uploads that carry a
 * CRC32 checksum instead (`ChecksumAlgorithm: 'CRC32'`), which S3 — and the local platform — verify before storing
 * anything. The body is still checked end to end; what goes is a SHA-256 pass over every byte on both sides
 * (the SDK otherwise hashes a Buffer body to sign it, and the receiver hashes it again to verify the signature).
 */
interface Stack {
  middlewareStack: {add(middleware: any, options: {step: 'build'; name: string}): void}
}

export function withUnsignedPayload<C extends Stack>(command: C): C {
  command.middlewareStack.add(
    (next: (args: {request: unknown}) => Promise<unknown>) => async (args: {request: unknown}) => {
      const headers = (args.request as {headers?: Record<string, string>}).headers
      if (headers) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD'
      return next(args)
    },
    {step: 'build', name: 'capeUnsignedPayload'},
  )
  return command
}
