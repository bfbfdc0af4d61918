import { describe, expect, it } from 'vitest';
import { grantScopes, parseScope, scopesFor, type SmartScope } from './smart-scope.ts';

/** A parsed scope as plain data, so expectations read as the answer itself. */
function plain(scope: SmartScope | undefined) {
  return scope && { text: scope.text, resourceType: scope.resourceType, permissions: [...scope.permissions].join(''), filters: scope.filters };
}

describe('parseScope', () => {
  it('parses SMART v2 system scopes', () => {
    expect(plain(parseScope('system/Patient.rs'))).toEqual({ text: 'system/Patient.rs', resourceType: 'Patient', permissions: 'rs', filters: [] });
    expect(plain(parseScope('system/*.cruds'))).toEqual({ text: 'system/*.cruds', resourceType: '*', permissions: 'cruds', filters: [] });
    expect(plain(parseScope('system/Task.u'))).toEqual({ text: 'system/Task.u', resourceType: 'Task', permissions: 'u', filters: [] });
    expect(plain(parseScope('system/Procedure.c'))).toEqual({ text: 'system/Procedure.c', resourceType: 'Procedure', permissions: 'c', filters: [] });
  });

  it('parses filters, keeping values as written', () => {
    expect(plain(parseScope('system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory'))).toEqual({
      text: 'system/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
      resourceType: 'Observation',
      permissions: 'rs',
      filters: [['category', 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory']],
    });
    expect(parseScope('system/Task.rs?owner=Organization/cbo&status=requested')?.filters).toEqual([
      ['owner', 'Organization/cbo'],
      ['status', 'requested'],
    ]);
    expect(parseScope('system/Task.rs?code=a=b')?.filters).toEqual([['code', 'a=b']]);
  });

  it('maps the SMART v1 forms to v2 permissions', () => {
    expect(plain(parseScope('system/Patient.read'))).toEqual({ text: 'system/Patient.read', resourceType: 'Patient', permissions: 'rs', filters: [] });
    expect(plain(parseScope('system/Patient.write'))).toEqual({ text: 'system/Patient.write', resourceType: 'Patient', permissions: 'cud', filters: [] });
    expect(plain(parseScope('system/*.*'))).toEqual({ text: 'system/*.*', resourceType: '*', permissions: 'cruds', filters: [] });
  });

  it('rejects scopes that are not system scopes or are malformed', () => {
    for (const text of [
      'patient/Patient.rs', // not a system scope
      'user/*.cruds',
      'openid',
      'launch',
      'system/Patient', // no permissions
      'system/Patient.',
      'system/Patient.sr', // out of order
      'system/Patient.rr', // repeated
      'system/Patient.x',
      'system/Patient.rsx',
      'system/patient.rs', // not a type name
      'system/.rs',
      'system/Patient.rs?', // empty query
      'system/Patient.rs?status', // no value
      'system/Patient.rs?=active',
      'system/Patient.rs?status=',
      'system/Patient.rs?status=active&',
      'system/Patient.read?status=active', // v1 has no filters
      ' system/Patient.rs',
      'system/Patient.rs ',
      '',
    ]) {
      expect(parseScope(text), text).toBeUndefined();
    }
  });
});

describe('grantScopes', () => {
  it('grants the registered scopes when none are requested', () => {
    expect(grantScopes(undefined, ['system/*.cruds'])).toEqual(['system/*.cruds']);
    expect(grantScopes('', ['system/Task.rs', 'system/Procedure.c'])).toEqual(['system/Task.rs', 'system/Procedure.c']);
    expect(grantScopes('   ', ['system/Task.rs'])).toEqual(['system/Task.rs']);
  });

  it('narrows a wildcard registration to what is requested', () => {
    expect(grantScopes('system/Patient.rs', ['system/*.cruds'])).toEqual(['system/Patient.rs']);
    expect(grantScopes('system/Patient.rs system/Task.cu', ['system/*.cruds'])).toEqual(['system/Patient.rs', 'system/Task.cu']);
    expect(grantScopes('system/*.rs', ['system/*.cruds'])).toEqual(['system/*.rs']);
    expect(grantScopes('system/Patient.read', ['system/*.rs'])).toEqual(['system/Patient.read']);
  });

  it('drops requested scopes wider than the registration', () => {
    // More permissions than registered.
    expect(grantScopes('system/Patient.cruds', ['system/Patient.rs'])).toEqual([]);
    expect(grantScopes('system/Patient.write', ['system/Patient.rs'])).toEqual([]);
    // Every type, when one type is registered.
    expect(grantScopes('system/*.rs', ['system/Patient.rs'])).toEqual([]);
    // Another type.
    expect(grantScopes('system/Observation.rs', ['system/Patient.rs'])).toEqual([]);
    // The registration's filter dropped.
    expect(grantScopes('system/Task.rs', ['system/Task.rs?owner=Organization/cbo'])).toEqual([]);
    // Only the part within the registration is granted.
    expect(grantScopes('system/Task.rs system/Task.d system/Procedure.c', ['system/Task.rs', 'system/Procedure.c'])).toEqual([
      'system/Task.rs',
      'system/Procedure.c',
    ]);
  });

  it('keeps registered filters and allows extra requested ones', () => {
    const registered = ['system/Task.rs?owner=Organization/cbo'];
    expect(grantScopes('system/Task.rs?owner=Organization/cbo', registered)).toEqual(['system/Task.rs?owner=Organization/cbo']);
    expect(grantScopes('system/Task.s?owner=Organization/cbo&status=requested', registered)).toEqual(['system/Task.s?owner=Organization/cbo&status=requested']);
    expect(grantScopes('system/Task.rs?owner=Organization/other', registered)).toEqual([]);
    // An unfiltered registration covers a filtered request.
    expect(grantScopes('system/Task.rs?status=requested', ['system/*.rs'])).toEqual(['system/Task.rs?status=requested']);
  });

  it('combines permissions only within one registered scope', () => {
    // r from one registered scope and c from another do not make rc: each requested scope needs one cover.
    expect(grantScopes('system/Patient.cr', ['system/Patient.r', 'system/Patient.c'])).toEqual([]);
    expect(grantScopes('system/Patient.c system/Patient.r', ['system/Patient.r', 'system/Patient.c'])).toEqual(['system/Patient.c', 'system/Patient.r']);
  });

  it('ignores non-system and malformed requests, and duplicates', () => {
    expect(grantScopes('openid patient/*.rs system/Patient.rs system/Patient.rs bogus', ['system/*.cruds'])).toEqual(['system/Patient.rs']);
    expect(grantScopes('openid', ['system/*.cruds'])).toEqual([]);
  });

  it('never grants an unparseable registered scope', () => {
    expect(grantScopes(undefined, ['system/*.cruds', 'garbage'])).toEqual(['system/*.cruds']);
    expect(grantScopes('garbage', ['garbage'])).toEqual([]);
  });
});

describe('scopesFor', () => {
  const scopes = ['system/*.rs', 'system/Task.cu', 'system/Task.s?status=requested', 'system/Patient.read'].map((text) => parseScope(text)!);
  const texts = (found: SmartScope[]) => found.map((scope) => scope.text);

  it('finds the scopes allowing a permission on a type', () => {
    expect(texts(scopesFor(scopes, 'Task', 's'))).toEqual(['system/*.rs', 'system/Task.s?status=requested']);
    expect(texts(scopesFor(scopes, 'Task', 'c'))).toEqual(['system/Task.cu']);
    expect(texts(scopesFor(scopes, 'Patient', 'r'))).toEqual(['system/*.rs', 'system/Patient.read']);
    expect(texts(scopesFor(scopes, 'Observation', 'r'))).toEqual(['system/*.rs']);
  });

  it('finds none when no scope allows it', () => {
    expect(scopesFor(scopes, 'Patient', 'd')).toEqual([]);
    expect(scopesFor(scopes, 'Observation', 'c')).toEqual([]);
    expect(scopesFor([], 'Patient', 'r')).toEqual([]);
  });
});
