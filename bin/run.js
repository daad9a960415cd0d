#!/usr/bin/env node
import {main} from '../dist/lib/cli/run.js'

await main(process.argv.slice(2), import.meta.url)
