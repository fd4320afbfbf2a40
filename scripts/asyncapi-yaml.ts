import { stringify } from 'yaml';
import { asyncApiDocument } from '../proto/asyncapi.js';

/** docs/asyncapi.yaml's text: the protocol's AsyncAPI document, generated, never edited. */
export function asyncApiYaml(): string {
  const header =
    '# Generated from proto/ by `npm run docs:asyncapi`; do not edit (a test compares it).\n';
  return header + stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}
