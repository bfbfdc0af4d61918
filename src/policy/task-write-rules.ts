// Who may change a referral Task (SDOH Clinical Care IG, Task rules of the referral workflow):
// the requester may change any element; the owner may change status, businessStatus,
// statusReason, output and lastModified, and add notes; anyone else may change nothing.
import type { Task } from 'fhir/r4';

const OWNER_MAY_CHANGE = new Set(['status', 'businessStatus', 'statusReason', 'output', 'lastModified', 'note', 'meta', 'text']);

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The FHIRPath of the first element `organization` may not change from `before` to `after`, or undefined. */
export function forbiddenTaskChange(before: Task, after: Task, organization: string): string | undefined {
  if (before.requester?.reference === organization) return undefined;
  const keys = new Set([...Object.keys(before), ...Object.keys(after)].filter((key) => key !== 'id'));
  if (before.owner?.reference !== organization) {
    for (const key of keys) if (!same(before[key as keyof Task], after[key as keyof Task])) return `Task.${key}`;
    return undefined;
  }
  for (const key of keys) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    if (!OWNER_MAY_CHANGE.has(name) && !same(before[key as keyof Task], after[key as keyof Task])) return `Task.${key}`;
  }
  // Notes may be added, not rewritten or removed.
  const previous = before.note ?? [];
  if (!same(previous, (after.note ?? []).slice(0, previous.length))) return 'Task.note';
  // Security labels are the custodian's: a writer cannot lower them.
  if (!same(before.meta?.security, after.meta?.security)) return 'Task.meta.security';
  return undefined;
}
