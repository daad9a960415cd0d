import {Help} from '@oclif/core'
import {exitCodeHelp} from './lib/cli/exit-codes.js'

/** Root help = oclif's, plus configuration precedence and the exit-code table. */
export default class CapeHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    this.log(
      [
        '',
        'CONFIGURATION',
        '  cape.yaml in the working directory (or --config / CAPE_CONFIG) names environments; `local` always exists',
        '  and runs on the embedded local platform. Precedence: flag > environment variable > cape.yaml > default.',
        '',
        'EXIT CODES',
        exitCodeHelp(),
        '',
      ].join('\n'),
    )
  }
}
