// batch bundles: each entry on its own (its own database transaction), failures reported per entry.
import type { Bundle, BundleEntry } from 'fhir/r4';
import { FhirError } from '../errors.ts';
import type { FhirRequest, FhirResponse } from '../types.ts';
import { entryRequest, errorEntry, inEntry, isRead, parseEntry, responseEntry } from './bundle-entry.ts';

export type RunRequest = (request: FhirRequest) => Promise<FhirResponse>;

export async function processBatch(
  entries: BundleEntry[],
  fhirBase: string,
  run: RunRequest,
  includeResource: boolean,
  onUnexpected: (error: unknown) => void,
): Promise<Bundle> {
  const responses: BundleEntry[] = [];
  for (let index = 0; index < entries.length; index++) {
    let parsed;
    try {
      parsed = parseEntry(entries[index], index, fhirBase);
      responses.push(responseEntry(await run(entryRequest(parsed)), includeResource || isRead(parsed.method)));
    } catch (error) {
      const located = parsed ? inEntry(error, parsed) : error;
      if (located instanceof FhirError) {
        responses.push(errorEntry(located));
      } else {
        onUnexpected(error);
        responses.push(errorEntry(new FhirError(500, { code: 'exception', diagnostics: 'Internal error processing this entry' })));
      }
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
}
