/**
 * AWS::Glue::Database, AWS::Glue::Table and AWS::Athena::WorkGroup on the platform's Glue catalog and Athena store
 * (the same stores the Glue and Athena APIs answer from).
 */
import type {AthenaStore, WorkGroupConfiguration} from '../../athena/store.js'
import type {DatabaseInput, GlueCatalog, TableInput} from '../../glue/catalog.js'
import {isJsonError} from '../../json.js'
import type {Json} from '../template.js'
import {ProviderError, type Properties, type ResourceProvider} from './types.js'

type Obj = Record<string, Json>
const obj = (v: Json | undefined): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {})

/** Runs a store call; a store error (AlreadyExists, EntityNotFound…) becomes the resource's status reason. */
function attempt<T>(fn: () => T): T {
  try {
    return fn()
  } catch (error) {
    if (isJsonError(error)) throw new ProviderError(`${error.message} (Service: Glue/Athena; Error Code: ${error.code})`)
    throw error
  }
}

const ignoreMissing = (fn: () => void) => {
  try {
    fn()
  } catch (error) {
    if (!isJsonError(error)) throw error
  }
}

/** CloudFormation's WorkGroupConfiguration → Athena's (the same names, numbers as numbers). */
function workGroupConfiguration(props: Properties): WorkGroupConfiguration {
  const c = obj(props.WorkGroupConfiguration)
  const result = obj(c.ResultConfiguration)
  return {
    ...(result.OutputLocation ? {ResultConfiguration: {OutputLocation: String(result.OutputLocation)}} : {}),
    EnforceWorkGroupConfiguration: c.EnforceWorkGroupConfiguration === true || c.EnforceWorkGroupConfiguration === 'true',
    PublishCloudWatchMetricsEnabled: c.PublishCloudWatchMetricsEnabled === true || c.PublishCloudWatchMetricsEnabled === 'true',
    ...(c.BytesScannedCutoffPerQuery !== undefined ? {BytesScannedCutoffPerQuery: Number(c.BytesScannedCutoffPerQuery)} : {}),
  }
}

export function analyticsProviders(catalog: GlueCatalog, athena: AthenaStore): Record<string, ResourceProvider> {
  const database: ResourceProvider = {
    async create(_ctx, _id, props) {
      const input = obj(props.DatabaseInput) as unknown as DatabaseInput
      const db = attempt(() => catalog.createDatabase(input))
      return {physicalId: db.Name, attributes: {}}
    },
    async update(_ctx, _id, physicalId, _old, props) {
      const input = obj(props.DatabaseInput) as unknown as DatabaseInput
      if (String(input.Name ?? '').toLowerCase() !== physicalId) {
        const db = attempt(() => catalog.createDatabase(input))
        return {physicalId: db.Name, attributes: {}}
      }
      attempt(() => catalog.updateDatabase(physicalId, input))
      return {attributes: {}}
    },
    async delete(_ctx, physicalId) {
      ignoreMissing(() => catalog.deleteDatabase(physicalId))
    },
  }
  const table: ResourceProvider = {
    async create(_ctx, _id, props) {
      const db = String(props.DatabaseName ?? '')
      const input = obj(props.TableInput) as unknown as TableInput
      const created = attempt(() => catalog.createTable(db, input))
      return {physicalId: `${created.DatabaseName}|${created.Name}`, attributes: {}}
    },
    async update(_ctx, _id, _physicalId, _old, props) {
      attempt(() => catalog.updateTable(String(props.DatabaseName ?? ''), obj(props.TableInput) as unknown as TableInput))
      return {attributes: {}}
    },
    async delete(_ctx, physicalId) {
      const [db = '', name = ''] = physicalId.split('|')
      ignoreMissing(() => catalog.deleteTable(db, name))
    },
  }
  const workgroup: ResourceProvider = {
    async create(_ctx, _id, props) {
      const name = String(props.Name ?? '')
      if (name === '') throw new ProviderError('Name is required (AWS::Athena::WorkGroup)')
      attempt(() => athena.createWorkGroup(name, workGroupConfiguration(props), props.Description === undefined ? undefined : String(props.Description)))
      return {physicalId: name, attributes: {}}
    },
    async update(_ctx, _id, physicalId, _old, props) {
      attempt(() => athena.updateWorkGroup(physicalId, {Configuration: workGroupConfiguration(props), ...(props.Description === undefined ? {} : {Description: String(props.Description)}), State: props.State === 'DISABLED' ? 'DISABLED' : 'ENABLED'}))
      return {attributes: {}}
    },
    async delete(_ctx, physicalId) {
      ignoreMissing(() => athena.deleteWorkGroup(physicalId))
    },
  }
  return {'AWS::Glue::Database': database, 'AWS::Glue::Table': table, 'AWS::Athena::WorkGroup': workgroup}
}
