/** Writes docs/asyncapi.yaml from the protocol's schemas (`npm run docs:asyncapi`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { asyncApiYaml } from './asyncapi-yaml.js';

const target = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
writeFileSync(target, asyncApiYaml());
process.stderr.write(`wrote ${target}\n`);
