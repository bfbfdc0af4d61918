// What a mapper works with: the system scope of the message's transaction, the parsed message, the
// facility that sent it, its inbox row, and the list of what it wrote (for the Provenance and the inbox).
import type { Hl7Message } from '@medplum/core';
import type { Resource } from 'fhir/r4';
import type { Scope } from '../fhir/scope.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import type { Hl7Facility } from './hl7-facility-registry.ts';
import type { Hl7Header } from './hl7-header.ts';
import type { InboxRow } from './hl7-inbox.ts';
import type { Written } from './resource-writer.ts';
import type { TriggerSettings } from './hl7-triggers.ts';

export interface MapContext {
  scope: Scope;
  message: Hl7Message;
  header: Hl7Header;
  facility: Hl7Facility;
  row: InboxRow;
  hubOrganization: string;
  terminology: TerminologyService;
  triggers: TriggerSettings;
  /** Records a write; changed ones become Provenance targets. */
  track(written: Written<Resource>): void;
}
