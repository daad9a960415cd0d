import {defineConfig} from 'vitest/config'

// The opt-in live suite (`CAPE_LIVE_AWS=1 npm run test:live`): real AWS, never part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/live/**/*.live.ts'],
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    passWithNoTests: true,
    env: {AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true'},
  },
})
