// The operations the server offers, by name. Features register theirs at start (server.ts).
import { FhirError } from '../errors.ts';
import type { Operation, OperationLevel } from './operation.ts';

export class OperationRegistry {
  readonly #byName = new Map<string, Operation[]>();

  register(operation: Operation): void {
    this.#byName.set(operation.name, [...(this.#byName.get(operation.name) ?? []), operation]);
  }

  /** The operation `name` at this level and type, or a 404 saying it is not supported there. */
  find(name: string, level: OperationLevel, type?: string): Operation {
    const found = (this.#byName.get(name) ?? []).find(
      (operation) => operation.levels.includes(level) && (!operation.types || (type !== undefined && operation.types.includes(type))),
    );
    if (!found) {
      const where = level === 'system' ? 'at the system level' : `on ${type}${level === 'instance' ? ' instances' : ''}`;
      throw new FhirError(404, { code: 'not-supported', diagnostics: `Operation $${name} is not supported ${where}` });
    }
    return found;
  }

  all(): Operation[] {
    return [...this.#byName.values()].flat();
  }
}
