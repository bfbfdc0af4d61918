// POST /fhir/$x12-inbound: an X12 999, 277CA or 835 as the body (application/edi-x12 or text/plain),
// applied in the request's one transaction. Answers a Parameters naming, per transaction set, its
// type, its duplicate key, whether it was a repeat, and the resources written. Malformed X12 is a
// 400 OperationOutcome naming the segment position; unmatched claims or lines a 422.
import type { Parameters } from 'fhir/r4';
import { badRequest, FhirError } from '../../fhir/errors.ts';
import type { Operation } from '../../fhir/operations/operation.ts';
import { applyX12 } from './x12-inbound.ts';

const ACCEPTED = ['application/edi-x12', 'text/plain'];

export function x12InboundOperation(settings: { adminFeePercent: number }): Operation {
  return {
    name: 'x12-inbound',
    levels: ['system'],
    affectsState: true,
    async run({ scope, request }) {
      const type = (request.contentType ?? '').split(';')[0].trim().toLowerCase();
      if (!request.rawBody || !ACCEPTED.includes(type)) {
        throw new FhirError(415, { code: 'not-supported', diagnostics: `$x12-inbound takes X12 text as ${ACCEPTED.join(' or ')}` });
      }
      const text = request.rawBody.toString('utf8');
      if (!text.trim()) throw badRequest('The body is empty', 'X12');
      const applied = await applyX12(scope, text, settings.adminFeePercent);
      const result: Parameters = {
        resourceType: 'Parameters',
        parameter: applied.map((transaction) => ({
          name: 'transaction',
          part: [
            { name: 'type', valueCode: transaction.type },
            { name: 'key', valueString: transaction.key },
            { name: 'duplicate', valueBoolean: transaction.duplicate },
            ...transaction.references.map((reference) => ({ name: 'reference', valueReference: { reference } })),
          ],
        })),
      };
      return { status: 200, resource: result };
    },
  };
}
