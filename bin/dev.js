#!/usr/bin/env -S node --import tsx
// Runs cape from source (src/, through tsx). Use bin/run.js for the built CLI.
import {main} from '../src/lib/cli/run.ts'

await main(process.argv.slice(2), import.meta.url, {development: true})
