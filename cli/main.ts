#!/usr/bin/env node
import { buildProgram } from './program.js';
import { exitQuietlyOnEpipe } from './stdout-epipe.js';

exitQuietlyOnEpipe();
await buildProgram().parseAsync(process.argv);
