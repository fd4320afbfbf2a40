/**
 * Validates payloads against docs/asyncapi.yaml's message schemas (not the zod schemas that
 * generated them), so system tests can check that what the system sends is what the contract says.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { Unpackr } from 'msgpackr';
import { parse } from 'yaml';
import type { MessageKind } from '../proto/index.js';

const documentPath = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
// A plain msgpack decoder, as another language's client would use (bin stays bytes).
const plain = new Unpackr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: true,
  int64AsType: 'number',
});

export interface ContractValidator {
  kinds(): string[];
  /** Problems of a decoded payload of `kind` against the document; empty when it conforms. */
  problems(kind: MessageKind, payload: unknown): string[];
  /** The same for raw msgpack bytes. */
  problemsOfBytes(kind: MessageKind, bytes: Uint8Array): string[];
}

export function contractValidator(): ContractValidator {
  const document = parse(readFileSync(documentPath, 'utf8')) as {
    components: { messages: Record<string, { payload: object }> };
  };
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validators = new Map<string, ValidateFunction>();
  for (const [kind, message] of Object.entries(document.components.messages))
    validators.set(kind, ajv.compile(message.payload));
  const problems = (kind: MessageKind, payload: unknown): string[] => {
    const validate = validators.get(kind);
    if (validate === undefined) return [`${kind}: no message of that name in docs/asyncapi.yaml`];
    if (validate(payload)) return [];
    return (validate.errors ?? []).map(
      (e) => `${kind}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
    );
  };
  return {
    kinds: () => [...validators.keys()],
    problems,
    problemsOfBytes: (kind, bytes) => {
      let payload: unknown;
      try {
        payload = plain.unpack(bytes);
      } catch (error) {
        return [`${kind}: not msgpack (${String(error)})`];
      }
      return problems(kind, payload);
    },
  };
}
