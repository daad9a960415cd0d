import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
    // as the CLI does (src/lib/cli/run.ts): the SDK's notice about Node 20 is not the tests' business
    env: {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'},
    reporters: ['default', './test/summary-reporter.ts'],
  },
})
