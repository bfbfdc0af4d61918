// JSON Patch (RFC 6902) applied to a copy of a resource. Written here rather than taken from a
// package: the RFC is small, and we want errors that name the failing operation by its index.
import { badRequest, FhirError } from './errors.ts';

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

type Container = Record<string, unknown> | unknown[];

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

export function parsePatchDocument(body: unknown): PatchOperation[] {
  if (!Array.isArray(body)) throw badRequest('A JSON Patch document must be an array of operations', 'Patch', 'structure');
  body.forEach((operation, i) => {
    const op = operation as Partial<PatchOperation> | null;
    if (!op || typeof op !== 'object' || !OPS.has(String(op.op)) || typeof op.path !== 'string') {
      throw badRequest('Each operation needs a valid op and a path', `Patch[${i}]`, 'structure');
    }
    if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') throw badRequest(`${op.op} needs from`, `Patch[${i}].from`, 'structure');
    if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) {
      throw badRequest(`${op.op} needs a value`, `Patch[${i}].value`, 'structure');
    }
  });
  return body as PatchOperation[];
}

const unprocessable = (diagnostics: string, index: number) =>
  new FhirError(422, { code: 'processing', diagnostics, expression: `Patch[${index}]` });

function tokens(pointer: string, index: number): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`Invalid JSON pointer '${pointer}'`, index);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the pointer's last token, and that token. */
function parentOf(doc: unknown, path: string[], index: number): [Container, string] {
  let node = doc;
  for (const token of path.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown> | null)?.[token];
    if (typeof node !== 'object' || node === null) throw unprocessable(`Path '/${path.join('/')}' does not exist`, index);
  }
  return [node as Container, path[path.length - 1]];
}

function arrayIndex(array: unknown[], token: string, forInsert: boolean, index: number): number {
  if (forInsert && token === '-') return array.length;
  const i = /^(0|[1-9]\d*)$/.test(token) ? Number(token) : NaN;
  if (!(i >= 0 && i < array.length + (forInsert ? 1 : 0))) throw unprocessable(`Array index '${token}' is out of range`, index);
  return i;
}

function get(doc: unknown, pointer: string, index: number): unknown {
  let node = doc;
  for (const token of tokens(pointer, index)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, false, index)];
    else if (node && typeof node === 'object' && Object.hasOwn(node, token)) node = (node as Record<string, unknown>)[token];
    else throw unprocessable(`Path '${pointer}' does not exist`, index);
  }
  return node;
}

function add(doc: unknown, pointer: string, value: unknown, index: number): unknown {
  const path = tokens(pointer, index);
  if (path.length === 0) return value;
  const [parent, key] = parentOf(doc, path, index);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, index), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: unknown, pointer: string, index: number): unknown {
  const path = tokens(pointer, index);
  if (path.length === 0) throw unprocessable('Cannot remove the whole resource', index);
  const [parent, key] = parentOf(doc, path, index);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, index), 1);
  else if (Object.hasOwn(parent, key)) delete parent[key];
  else throw unprocessable(`Path '${pointer}' does not exist`, index);
  return doc;
}

export function applyJsonPatch<T>(original: T, operations: PatchOperation[]): T {
  let doc: unknown = structuredClone(original);
  operations.forEach((operation, i) => {
    switch (operation.op) {
      case 'add':
        doc = add(doc, operation.path, structuredClone(operation.value), i);
        break;
      case 'remove':
        doc = remove(doc, operation.path, i);
        break;
      case 'replace':
        get(doc, operation.path, i);
        // The root always exists, so replacing it is allowed (RFC 6902 §4.3); `remove` refuses it.
        doc = operation.path === '' ? structuredClone(operation.value) : add(remove(doc, operation.path, i), operation.path, structuredClone(operation.value), i);
        break;
      case 'move': {
        const value = get(doc, operation.from!, i);
        doc = add(remove(doc, operation.from!, i), operation.path, value, i);
        break;
      }
      case 'copy':
        doc = add(doc, operation.path, structuredClone(get(doc, operation.from!, i)), i);
        break;
      case 'test':
        if (JSON.stringify(canonical(get(doc, operation.path, i))) !== JSON.stringify(canonical(operation.value))) {
          throw unprocessable(`Test failed at '${operation.path}'`, i);
        }
        break;
    }
  });
  return doc as T;
}

/** Key order does not matter to JSON equality. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}
