// Stores Measure/sns-e at start, as the system, when it is missing or differs from this edition (so
// restarts of an unchanged server write nothing, and an edition change makes a new version).
import type { Measure } from 'fhir/r4';
import type { FhirEngine } from '../../fhir/engine.ts';
import { update } from '../../fhir/interactions/update.ts';
import type { Database } from '../../store/database.ts';
import { readCurrent } from '../../store/resource-store.ts';
import { snsEMeasure, SNS_E_ID } from './measure-definition.ts';
import type { SnsERules } from './sns-e-config.ts';

function sameContent(stored: Measure, wanted: Measure): boolean {
  const strip = ({ meta: _meta, ...rest }: Measure) => JSON.stringify(rest);
  return strip(stored) === strip(wanted);
}

export async function loadSnsEMeasure(db: Database, engine: FhirEngine, hubOrganization: string, rules: SnsERules): Promise<void> {
  const wanted = snsEMeasure(rules);
  const stored = await readCurrent(db, 'Measure', SNS_E_ID);
  if (stored && !stored.deleted && sameContent(stored.resource as Measure, wanted)) return;
  await engine.runAsSystem('$load-measure', hubOrganization, (scope) => update(scope, 'Measure', SNS_E_ID, wanted));
}
