import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {sharedCredentialsFile} from '../../lib/config/config.js'
import {renderKey, secretWarning} from '../../lib/cli/views/users.js'
import {ROLES, type Role} from '../../lib/identity/matrix.js'
import {saveProfile} from '../../lib/identity/profile.js'
import {phaseContext} from '../../lib/identity/session.js'
import {addUser, type UserInfo} from '../../lib/identity/users.js'

export interface UsersAddResult {
  user: UserInfo
  accessKeyId?: string
  /** Only when printed (no --save-profile): the one and only time it is shown. */
  secretAccessKey?: string
  savedProfile?: {profile: string; file: string}
}

export default class UsersAdd extends CapeCommand<typeof UsersAdd> {
  static summary = 'Add a user to the phase with a role (reg, admin or partner)'
  static description =
    'The user is created under the phase IAM path. --with-key also creates an access key: saved to a shared-credentials profile with --save-profile (file mode 0600), otherwise printed once under a warning.'
  static examples = [
    '<%= config.bin %> users add alice --role reg',
    '<%= config.bin %> users add bob --role partner --with-key --save-profile cape-bob',
  ]
  static args = {name: Args.string({required: true, description: 'IAM user name'})}
  static flags = {
    role: Flags.string({required: true, options: [...ROLES], summary: 'Role of the user.'}),
    'with-key': Flags.boolean({summary: 'Create an access key too.'}),
    'save-profile': Flags.string({summary: 'Save the key as this profile in the AWS shared-credentials file instead of printing it.', dependsOn: ['with-key']}),
  }

  async run(): Promise<UsersAddResult> {
    const clients = await this.ctx.clients()
    const {id} = await phaseContext({env: this.ctx.env, clients})
    const {user, key} = await addUser(clients, id, {name: this.args.name, role: this.flags.role as Role, withKey: this.flags['with-key']})
    this.out(`Added ${user.name} (${user.roles.join(',')}) under ${user.path}`)
    if (!key) return {user}
    const profile = this.flags['save-profile']
    if (profile) {
      const file = sharedCredentialsFile()
      saveProfile(file, profile, key)
      this.out(`Saved access key ${key.accessKeyId} as profile "${profile}" in ${file} (mode 0600). Use it with --profile ${profile}.`)
      return {user, accessKeyId: key.accessKeyId, savedProfile: {profile, file}}
    }
    process.stderr.write(`${secretWarning(this.style)}\n`)
    this.out(renderKey(key))
    return {user, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey}
  }
}
