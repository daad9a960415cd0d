import {type ExtDeps, type ExtHandler, type ExtRequest, headerOf, requireObject, s3Err} from './extension.js'

/**
 * Part-level reads of multipart objects (GET/HEAD ?partNumber=N → that part's bytes, 206, x-amz-mp-parts-count) and
 * GetObjectAttributes (ETag, ObjectSize, StorageClass, ObjectParts). Part boundaries are kept at
 * CompleteMultipartUpload (object-hooks.ts).
 */

const ATTRIBUTES = new Set(['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'])

/** The byte range and part count a ?partNumber= read answers with; undefined without partNumber. */
export async function partRange(
  deps: ExtDeps,
  r: ExtRequest,
  bucket: string,
  key: string,
  size: number,
): Promise<{range: {start: number; end: number}; partsCount?: number} | undefined> {
  const raw = r.query.get('partNumber')
  if (raw === null) return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw s3Err('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400, {ArgumentName: 'partNumber', ArgumentValue: raw})
  }
  const parts = (await deps.extras.get(bucket, key)).parts
  if (!parts) {
    if (n !== 1) throw s3Err('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416, {PartNumberRequested: n, ActualPartCount: 1})
    return {range: {start: 0, end: size - 1}}
  }
  if (n > parts.length) throw s3Err('InvalidPartNumber', 'The requested partnumber is not satisfiable', 416, {PartNumberRequested: n, ActualPartCount: parts.length})
  const start = parts.slice(0, n - 1).reduce((a, b) => a + b, 0)
  return {range: {start, end: start + parts[n - 1] - 1}, partsCount: parts.length}
}

export function attributesHandlers(deps: ExtDeps): Record<string, ExtHandler> {
  return {
    async GetObjectAttributes(r) {
      const {bucket, key, info} = await requireObject(deps, r)
      const wanted = (headerOf(r.ctx.req, 'x-amz-object-attributes') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')
      if (wanted.length === 0 || wanted.some((a) => !ATTRIBUTES.has(a))) {
        throw s3Err('InvalidArgument', 'Invalid attribute name specified.', 400, {ArgumentName: 'x-amz-object-attributes', ArgumentValue: wanted.join(',')})
      }
      const parts = (await deps.extras.get(bucket, key)).parts
      const marker = Number(r.query.get('part-number-marker') ?? headerOf(r.ctx.req, 'x-amz-part-number-marker') ?? '0') || 0
      const maxParts = Math.min(1000, Number(headerOf(r.ctx.req, 'x-amz-max-parts') ?? '1000') || 1000)
      const listed = (parts ?? []).map((size, i) => ({PartNumber: i + 1, Size: size})).filter((p) => p.PartNumber > marker)
      const page = listed.slice(0, maxParts)
      r.ctx.set('Last-Modified', info.lastModified.toUTCString())
      deps.sendXml(r.ctx, 'GetObjectAttributesResponse', {
        ...(wanted.includes('ETag') ? {ETag: info.etag.replace(/"/g, '')} : {}),
        ...(wanted.includes('ObjectParts') && parts
          ? {
              ObjectParts: {
                PartsCount: parts.length, // the SDK's TotalPartsCount
                PartNumberMarker: marker,
                ...(page.length > 0 ? {NextPartNumberMarker: page[page.length - 1].PartNumber} : {}),
                MaxParts: maxParts,
                IsTruncated: listed.length > page.length,
                Part: page,
              },
            }
          : {}),
        ...(wanted.includes('StorageClass') ? {StorageClass: 'STANDARD'} : {}),
        ...(wanted.includes('ObjectSize') ? {ObjectSize: info.size} : {}),
      })
    },
  }
}
