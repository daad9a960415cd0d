import S3Error from 's3rver/lib/models/error.js'

import {owner} from './acl.js'
import type {ExtDeps, ExtRequest} from './extension.js'
import {compareKeys} from './listing.js'
import type {Versioning} from './versioning.js'
import type {VersionEntry} from './versions-store.js'

/**
 * ListObjectVersions: every version and delete marker, keys in S3 order, each key's versions newest first; paged by
 * max-keys (versions, markers and common prefixes all count) with key-marker + version-id-marker.
 */

interface Row {
  key: string
  v: VersionEntry
  latest: boolean
}

interface Page {
  rows: Row[]
  prefixes: string[]
  truncated: boolean
  next?: {key: string; versionId?: string}
}

interface Params {
  prefix: string
  delimiter: string
  maxKeys: number
  keyMarker: string
  versionIdMarker: string
}

function params(q: URLSearchParams): Params {
  const rawMax = q.get('max-keys')
  if (rawMax !== null && !/^\d+$/.test(rawMax)) {
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {ArgumentName: 'max-keys', ArgumentValue: rawMax})
  }
  const keyMarker = q.get('key-marker') ?? ''
  const versionIdMarker = q.get('version-id-marker') ?? ''
  if (versionIdMarker !== '' && keyMarker === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker})
  }
  return {prefix: q.get('prefix') ?? '', delimiter: q.get('delimiter') ?? '', maxKeys: rawMax === null ? 1000 : Math.min(1000, Number(rawMax)), keyMarker, versionIdMarker}
}

/** The versions of `key` that come after the markers. */
function afterMarkers(key: string, versions: VersionEntry[], p: Params): VersionEntry[] {
  if (p.keyMarker === '' || compareKeys(key, p.keyMarker) > 0) return versions
  if (key !== p.keyMarker || p.versionIdMarker === '') return []
  const i = versions.findIndex((v) => v.id === p.versionIdMarker)
  return i < 0 ? [] : versions.slice(i + 1)
}

export function versionsPage(all: Map<string, VersionEntry[]>, p: Params): Page {
  const page: Page = {rows: [], prefixes: [], truncated: false}
  let count = 0
  for (const key of [...all.keys()].sort(compareKeys)) {
    const versions = all.get(key) as VersionEntry[]
    const rest = p.delimiter === '' ? '' : key.slice(p.prefix.length)
    const cut = p.delimiter === '' ? -1 : rest.indexOf(p.delimiter)
    if (cut >= 0) {
      const cp = p.prefix + rest.slice(0, cut + p.delimiter.length)
      if (page.prefixes.at(-1) === cp || (p.keyMarker !== '' && compareKeys(cp, p.keyMarker) <= 0)) continue
      if (count === p.maxKeys) return {...page, truncated: true}
      page.prefixes.push(cp)
      page.next = {key: cp}
      count++
      continue
    }
    for (const v of afterMarkers(key, versions, p)) {
      if (count === p.maxKeys) return {...page, truncated: true}
      page.rows.push({key, v, latest: v === versions[0]})
      page.next = {key, versionId: v.id}
      count++
    }
  }
  return page
}

export async function listObjectVersions(deps: ExtDeps, versioning: Versioning, r: ExtRequest): Promise<void> {
  const bucket = await deps.requireBucket(r.bucket)
  const encodingType = r.query.get('encoding-type') ?? undefined
  if (encodingType !== undefined && encodingType !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {ArgumentName: 'encoding-type', ArgumentValue: encodingType})
  }
  const enc = (s: string) => (encodingType === 'url' ? encodeURIComponent(s).replace(/%2F/g, '/') : s)
  const p = params(r.query)
  const page = versionsPage(await versioning.allVersions(bucket, p.prefix), p)
  const own = owner(deps.accountId)
  const common = (row: Row) => ({Key: enc(row.key), VersionId: row.v.id, IsLatest: row.latest, LastModified: row.v.lastModified})
  deps.sendXml(r.ctx, 'ListVersionsResult', {
    Name: bucket,
    Prefix: enc(p.prefix),
    KeyMarker: enc(p.keyMarker),
    VersionIdMarker: p.versionIdMarker,
    ...(page.truncated && page.next ? {NextKeyMarker: enc(page.next.key), ...(page.next.versionId ? {NextVersionIdMarker: page.next.versionId} : {})} : {}),
    MaxKeys: p.maxKeys,
    ...(p.delimiter ? {Delimiter: enc(p.delimiter)} : {}),
    ...(encodingType ? {EncodingType: encodingType} : {}),
    IsTruncated: page.truncated,
    Version: page.rows.filter((x) => !x.v.deleteMarker).map((x) => ({...common(x), ETag: x.v.etag, Size: x.v.size, StorageClass: 'STANDARD', Owner: own})),
    DeleteMarker: page.rows.filter((x) => x.v.deleteMarker).map((x) => ({...common(x), Owner: own})),
    CommonPrefixes: page.prefixes.map((cp) => ({Prefix: enc(cp)})),
  })
}
