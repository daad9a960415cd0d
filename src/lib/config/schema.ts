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

export const capeFileSchema = z
  .object({
    defaultEnv: z.string().min(1).optional(),
    environments: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, 'lower-case letters, digits and dashes'), environmentSchema).optional(),
    /** Extra dataset formats, merged with the built-in ones (see the ingest docs). */
    datasets: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()

export type EnvironmentConfig = z.infer<typeof environmentSchema>
export type CapeFile = z.infer<typeof capeFileSchema>
