/**
 * The persisted state of the local CloudFormation service: stacks with their resources, events, change sets and
 * the journal of the operation in progress (so a restart can finish or roll it back).
 */
import type {Attributes, Properties} from './providers/types.js'

export type StackStatus =
  | 'REVIEW_IN_PROGRESS'
  | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'CREATE_FAILED'
  | 'ROLLBACK_IN_PROGRESS' | 'ROLLBACK_COMPLETE' | 'ROLLBACK_FAILED'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_COMPLETE' | 'UPDATE_FAILED'
  | 'UPDATE_ROLLBACK_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS' | 'UPDATE_ROLLBACK_COMPLETE'
  | 'UPDATE_ROLLBACK_FAILED'
  | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED'

export type ResourceStatus =
  | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'CREATE_FAILED'
  | 'UPDATE_IN_PROGRESS' | 'UPDATE_COMPLETE' | 'UPDATE_FAILED'
  | 'DELETE_IN_PROGRESS' | 'DELETE_COMPLETE' | 'DELETE_FAILED' | 'DELETE_SKIPPED'

export interface ResourceState {
  logicalId: string
  type: string
  physicalId?: string
  status: ResourceStatus
  statusReason?: string
  /** Resolved properties as last provisioned. */
  props: Properties
  attributes: Attributes
  /** Logical ids this resource depended on when provisioned (deletion order). */
  dependsOn: string[]
  deletionPolicy?: string
  updateReplacePolicy?: string
  updatedAt: string
}

export interface StackEvent {
  EventId: string
  StackId: string
  StackName: string
  LogicalResourceId: string
  PhysicalResourceId: string
  ResourceType: string
  Timestamp: string
  ResourceStatus: string
  ResourceStatusReason?: string
  ResourceProperties?: string
}

export interface ResourceChangeDetail {
  Target: {Attribute: 'Properties'; Name: string; RequiresRecreation: 'Always' | 'Never' | 'Conditionally'}
  Evaluation: 'Static' | 'Dynamic'
  ChangeSource: 'DirectModification' | 'ResourceReference' | 'ParameterReference' | 'ResourceAttribute'
  CausingEntity?: string
}

export interface ResourceChange {
  Action: 'Add' | 'Modify' | 'Remove'
  LogicalResourceId: string
  PhysicalResourceId?: string
  ResourceType: string
  Replacement?: 'True' | 'False' | 'Conditional'
  Scope: string[]
  Details: ResourceChangeDetail[]
}

export type ChangeSetStatus = 'CREATE_PENDING' | 'CREATE_IN_PROGRESS' | 'CREATE_COMPLETE' | 'DELETE_COMPLETE' | 'FAILED'
export type ExecutionStatus = 'UNAVAILABLE' | 'AVAILABLE' | 'EXECUTE_IN_PROGRESS' | 'EXECUTE_COMPLETE' | 'EXECUTE_FAILED' | 'OBSOLETE'

export interface ChangeSetState {
  id: string
  name: string
  type: 'CREATE' | 'UPDATE'
  description?: string
  status: ChangeSetStatus
  statusReason?: string
  executionStatus: ExecutionStatus
  creationTime: string
  templateBody: string
  /** Raw parameter values (NoEcho masked only when shown). */
  parameters: Record<string, string>
  capabilities: string[]
  tags: Array<{Key: string; Value: string}>
  changes: ResourceChange[]
}

export interface StackOutput {
  OutputKey: string
  OutputValue: string
  Description?: string
  ExportName?: string
}

/** One step of a create/update, recorded before it runs so a rollback (even after a restart) can undo it. */
export interface JournalStep {
  logicalId: string
  action: 'create' | 'update' | 'replace'
  /** The resource as it was before the step (update/replace). */
  before?: ResourceState
  /** Physical id created by a create/replace step. */
  createdPhysicalId?: string
  done: boolean
  undone?: boolean
}

export interface OperationJournal {
  kind: 'CREATE' | 'UPDATE' | 'DELETE'
  changeSetId?: string
  startedAt: string
  /** State to return to when an update rolls back. */
  previous?: {
    templateBody: string
    parameters: Record<string, string>
    outputs: StackOutput[]
    description?: string
    capabilities: string[]
    imports: string[]
  }
  steps: JournalStep[]
  /** Physical resources to delete in the cleanup phase of an update (replaced ones). */
  replaced: Array<{logicalId: string; resource: ResourceState}>
  /** Logical ids to delete in the cleanup phase (removed from the template), with their last state. */
  removed: Array<{logicalId: string; resource: ResourceState}>
  /** New physical resources of replaced resources, deleted in the cleanup phase of an update rollback. */
  rollbackDeletes?: Array<{logicalId: string; resource: ResourceState}>
  retainResources?: string[]
  failure?: {logicalId: string; reason: string}
}

export interface StackState {
  stackId: string
  stackName: string
  status: StackStatus
  statusReason?: string
  description?: string
  creationTime: string
  lastUpdatedTime?: string
  deletionTime?: string
  /** Current template (undefined while REVIEW_IN_PROGRESS). */
  templateBody?: string
  parameters: Record<string, string>
  capabilities: string[]
  tags: Array<{Key: string; Value: string}>
  resources: Record<string, ResourceState>
  outputs: StackOutput[]
  /** Export names this stack's template imports (Fn::ImportValue). */
  imports: string[]
  events: StackEvent[]
  changeSets: Record<string, ChangeSetState>
  operation?: OperationJournal
}

export const IN_PROGRESS = (s: string) => s.endsWith('_IN_PROGRESS') && s !== 'REVIEW_IN_PROGRESS'
