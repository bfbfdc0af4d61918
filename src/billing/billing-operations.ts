// The billing operations (hub-admin and hub-staff; partners' disclosure profiles do not list them, so
// the policy gate answers 403):
//   POST /fhir/Claim/$build  payer=Organization/x, period=YYYY-MM | YYYY-MM-DD | start/end
//        → Bundle (collection) of the Claims and Invoices built, and an OperationOutcome per held claim
//   GET  /fhir/Claim/[id]/$x12      the 837P interchange (application/edi-x12); a held claim → 422
//   GET  /fhir/Invoice/[id]/$csv    the invoice as CSV (text/csv)
import type { Bundle, Claim, Invoice, Organization } from 'fhir/r4';
import { badRequest } from '../fhir/errors.ts';
import { readVisible } from '../fhir/interactions/read.ts';
import type { Operation } from '../fhir/operations/operation.ts';
import { readCurrent } from '../store/resource-store.ts';
import { buildForPeriod, type BillingContext, type BuildPeriod } from './claim-build.ts';
import { renderInvoiceCsv } from './invoice-csv.ts';
import { renderClaim837p } from './x12-837p/render-claim-837p.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const validDay = (day: string) => DAY.test(day) && !Number.isNaN(Date.parse(day)) && new Date(day).toISOString().slice(0, 10) === day;

/** `YYYY-MM` (the month), `YYYY-MM-DD` (the day) or `start/end` (inclusive days). */
export function parsePeriod(text: string | undefined, expression = 'Parameters.parameter[period]'): { start: string; end: string } {
  if (!text) throw badRequest('period is required (YYYY-MM, YYYY-MM-DD or YYYY-MM-DD/YYYY-MM-DD)', expression);
  if (/^\d{4}-\d{2}$/.test(text) && validDay(`${text}-01`)) {
    const [year, month] = text.split('-').map(Number);
    return { start: `${text}-01`, end: new Date(Date.UTC(year, month, 0)).toISOString().slice(0, 10) };
  }
  if (validDay(text)) return { start: text, end: text };
  const [start, end] = text.split('/');
  if (start && end && validDay(start) && validDay(end) && start <= end) return { start, end };
  throw badRequest(`period "${text}" must be YYYY-MM, YYYY-MM-DD or start/end days with start <= end`, expression);
}

export function billingOperations(context: BillingContext): Operation[] {
  const build: Operation = {
    name: 'build',
    levels: ['type'],
    types: ['Claim'],
    affectsState: true,
    async run({ scope, input }) {
      const payer = input.string('payer') ?? input.value<{ reference?: string }>('payer', 'Reference')?.reference;
      if (!payer || !/^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(payer)) throw badRequest('payer is required as Organization/id', 'Parameters.parameter[payer]');
      const stored = await readCurrent(scope.q, 'Organization', payer.split('/')[1]);
      if (!stored?.resource || stored.deleted) throw badRequest(`${payer} is not a known Organization`, 'Parameters.parameter[payer]');
      const period: BuildPeriod = { payer: `Organization/${(stored.resource as Organization).id}`, ...parsePeriod(input.string('period')) };
      const result = await buildForPeriod(scope, context, period);
      const bundle: Bundle = {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [...result.claims, ...result.invoices, ...result.held].map((resource) => ({
          ...(resource.resourceType === 'OperationOutcome' ? {} : { fullUrl: `${scope.ctx.fhirBase}/${resource.resourceType}/${resource.id}` }),
          resource,
        })),
      };
      return { status: 200, resource: bundle };
    },
  };
  const x12: Operation = {
    name: 'x12',
    levels: ['instance'],
    types: ['Claim'],
    affectsState: false,
    async run({ scope, id }) {
      const claim = (await readVisible(scope, 'Claim', id!)).resource as Claim;
      return { status: 200, raw: { contentType: 'application/edi-x12', body: await renderClaim837p(scope, claim, context.billing) } };
    },
  };
  const csv: Operation = {
    name: 'csv',
    levels: ['instance'],
    types: ['Invoice'],
    affectsState: false,
    async run({ scope, id }) {
      const invoice = (await readVisible(scope, 'Invoice', id!)).resource as Invoice;
      return { status: 200, raw: { contentType: 'text/csv; charset=utf-8', body: await renderInvoiceCsv(scope, invoice) } };
    },
  };
  return [build, x12, csv];
}
