// $validate (R4 Resource-validate) at type and instance level: checks a resource against the R4
// schema, reference syntax and the profiles (those it claims, or the one named by `profile`)
// without storing it. The answer is 200 with an OperationOutcome whatever the verdict, as HAPI and
// Medplum do; errors in it mean a create or update would be refused.
import type { OperationOutcomeIssue, Resource } from 'fhir/r4';
import { isPartner } from '../../policy/actor.ts';
import { checkReferenceSyntax } from '../../validation/reference-syntax.ts';
import { badRequest, FhirError, operationOutcome, type IssueInput } from '../errors.ts';
import { readVisible } from '../interactions/read.ts';
import type { Operation } from './operation.ts';

const asInput = (issue: OperationOutcomeIssue): IssueInput => ({
  severity: issue.severity, code: issue.code, diagnostics: issue.diagnostics ?? '', expression: issue.expression?.[0],
});

export const validateOperation: Operation = {
  name: 'validate',
  levels: ['type', 'instance'],
  affectsState: false,
  async run({ scope, input, type, id }) {
    const mode = input.string('mode');
    if (mode !== undefined && !['create', 'update', 'delete'].includes(mode)) {
      throw badRequest(`Parameter 'mode' must be create, update or delete`, 'Parameters.parameter[mode]');
    }
    if ((mode === 'update' || mode === 'delete') && !id) throw badRequest(`mode=${mode} needs an instance: [type]/[id]/$validate`, 'Parameters.parameter[mode]');
    // The instance must be one the caller may see (the same 404 as a read otherwise).
    const current = id ? await readVisible(scope, type!, id) : undefined;
    if (mode === 'delete') {
      return { status: 200, resource: operationOutcome([{ severity: 'information', code: 'informational', diagnostics: `${type}/${id} may be deleted as far as validation goes` }]) };
    }
    const resource: Resource | undefined = input.resource('resource') ?? current?.resource;
    if (!resource) throw badRequest(`Parameter 'resource' (or the resource as the body) is required`, 'Parameters.parameter[resource]');
    if (resource.resourceType !== type) throw badRequest(`The resource is a ${resource.resourceType}, not a ${type}`, 'Parameters.parameter[resource]');
    const profile = input.string('profile');
    if (profile !== undefined && !scope.services.profileValidator.knows(profile)) {
      throw new FhirError(400, { code: 'not-supported', diagnostics: `Profile ${profile} is not known to this server`, expression: 'Parameters.parameter[profile]' });
    }

    const issues: IssueInput[] = [];
    try {
      scope.services.validator.validate(resource);
      checkReferenceSyntax(resource);
    } catch (error) {
      if (!(error instanceof FhirError)) throw error;
      issues.push(...error.outcome.issue.map(asInput));
    }
    const enforceDefault = isPartner(scope.ctx.actor) && (mode === 'create' || mode === 'update');
    for (const issue of scope.services.profileValidator.validate(resource, { profiles: profile ? [profile] : undefined, enforceDefault })) {
      issues.push({ severity: issue.severity, code: issue.code, diagnostics: issue.diagnostics, expression: issue.expression });
    }
    if (issues.length === 0) issues.push({ severity: 'information', code: 'informational', diagnostics: 'All OK' });
    return { status: 200, resource: operationOutcome(issues) };
  },
};
