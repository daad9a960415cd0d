import {z} from 'zod'

const parameterValue = z.union([z.string(), z.number(), z.boolean()]).transform(String)

export const environmentSchema = z
  .object({
    target: z.enum(['local', 'aws']).default('aws'),
    region: z.string().min(1).optional(),
    profile: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    dataDir: z.string().min(1).optional(),
    stackPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'letters, digits and dashes, starting with a letter')
      .optional(),
    parameters: z.record(z.string(), z.record(z.string(), parameterValue)).optional(),
  })
  .strict()

const identifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'a PostgreSQL identifier: letters, digits, _ and $, not starting with a digit')

/** One table of a database source: which dataset it feeds, its primary key (tie-breaker) and watermark column. */
export const sourceTableSchema = z
  .object({
    dataset: z.string().min(1),
    /** Schema-qualified names are given as `schema: …`; default `public`. */
    schema: identifier.optional(),
    key: z.array(identifier).min(1),
    watermark: identifier,
  })
  .strict()

/** A database source (`cape ingest db:<name>`). Only PostgreSQL today. */
export const sourceSchema = z
  .object({
    type: z.literal('postgres'),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(5432),
    database: z.string().min(1),
    user: z.string().min(1),
    /** Secrets Manager secret (name or ARN) holding the password (plain, or JSON with a `password` field). */
    passwordSecret: z.string().min(1).optional(),
    tables: z.record(identifier, sourceTableSchema).refine((t) => Object.keys(t).length > 0, 'at least one table'),
  })
  .strict()

export const capeFileSchema = z
  .object({
    defaultEnv: z.string().min(1).optional(),
    environments: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes'), environmentSchema).optional(),
    /** Extra dataset formats, merged with the built-in ones (see the ingest docs). */
    datasets: z.record(z.string(), z.unknown()).optional(),
    /** Database sources for `cape ingest db:<name>`. */
    sources: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, _ and -'), sourceSchema).optional(),
  })
  .strict()

export type EnvironmentConfig = z.infer<typeof environmentSchema>
export type CapeFile = z.infer<typeof capeFileSchema>
export type SourceConfig = z.infer<typeof sourceSchema>
export type SourceTableConfig = z.infer<typeof sourceTableSchema>
