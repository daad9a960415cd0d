import {Args, Flags} from '@oclif/core'
import {CapeCommand} from '../../lib/cli/base.js'
import {sharedCredentialsFile} from '../../lib/config/config.js'
import {renderKey, secretWarning} from '../../lib/cli/views/users.js'
import {saveProfile} from '../../lib/identity/profile.js'
import {phaseContext} from '../../lib/identity/session.js'
import {rotateKey} from '../../lib/identity/users.js'

export default class UsersRotateKey extends CapeCommand<typeof UsersRotateKey> {
  static summary = "Replace a user's access key (new key first, then the old ones are deleted)"
  static examples = ['<%= config.bin %> users rotate-key alice --save-profile cape-alice', '<%= config.bin %> users rotate-key alice --yes']
  static args = {name: Args.string({required: true, description: 'IAM user name'})}
  static flags = {
    'save-profile': Flags.string({summary: 'Save the new key as this profile in the AWS shared-credentials file instead of printing it.'}),
    yes: Flags.boolean({char: 'y', summary: 'Rotate without asking (old keys stop working).'}),
  }

  async run(): Promise<{user: string; accessKeyId: string; deleted: string[]; secretAccessKey?: string; savedProfile?: {profile: string; file: string}}> {
    const clients = await this.ctx.clients()
    const {id} = await phaseContext({env: this.ctx.env, clients})
    await this.confirm(`Rotate the access key of ${this.args.name}? Its current keys stop working.`, {yes: this.flags.yes})
    const {user, key, deleted} = await rotateKey(clients, id, this.args.name)
    this.out(`New key ${key.accessKeyId} for ${user.name}; deleted ${deleted.length ? deleted.join(', ') : 'no old keys'}.`)
    const profile = this.flags['save-profile']
    if (profile) {
      const file = sharedCredentialsFile()
      saveProfile(file, profile, key)
      this.out(`Saved as profile "${profile}" in ${file} (mode 0600).`)
      return {user: user.name, accessKeyId: key.accessKeyId, deleted, savedProfile: {profile, file}}
    }
    process.stderr.write(`${secretWarning(this.style)}\n`)
    this.out(renderKey(key))
    return {user: user.name, accessKeyId: key.accessKeyId, deleted, secretAccessKey: key.secretAccessKey}
  }
}
