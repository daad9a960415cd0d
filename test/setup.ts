import {afterAll} from 'vitest'
import {removeTempDirs} from './helpers/cli.js'

// after every test file (its own afterAll hooks run first): the temp folders its tests made
afterAll(() => removeTempDirs())
