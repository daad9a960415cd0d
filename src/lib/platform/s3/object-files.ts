import {stat} from 'node:fs/promises'
import {join} from 'node:path'
import {listKeys, OBJECT_SUFFIX} from './listing.js'

/** One stored object as a file on the platform's disk (s3rver's layout): what the local query engine reads. */
export interface ObjectFile {
  key: string
  path: string
  size: number
}

/** The file behind bucket/key in the objects dir (`<data>/s3/buckets`). */
export const objectFilePath = (objectsDir: string, bucket: string, key: string) => join(objectsDir, bucket, key + OBJECT_SUFFIX)

/** Every object of `bucket` under `prefix`, in key order, with its file and size (no HTTP, no authorization). */
export async function objectFiles(objectsDir: string, bucket: string, prefix: string): Promise<ObjectFile[]> {
  const keys = await listKeys(join(objectsDir, bucket), prefix)
  const files = await Promise.all(keys.map(async (key) => {
    const path = objectFilePath(objectsDir, bucket, key)
    const info = await stat(path).catch(() => undefined)
    return info ? {key, path, size: info.size} : undefined
  }))
  return files.filter((f): f is ObjectFile => f !== undefined)
}
