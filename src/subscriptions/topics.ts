// The subscription topics this server supports: the two the SDOH Clinical Care IG defines (in
// narrative only; it publishes no SubscriptionTopic resource) for the Subscriptions R5 Backport on R4
// (IG checking_task_status.md; ../shared/docs/domain/gravity-ig.md §3.5):
//   …/SubscriptionTopic/Task            Task create, update, delete; current: status:not=draft&intent=order;
//                                       delete passes; filters _lastUpdated, code, owner, requester, status
//   …/SubscriptionTopic/Servicerequest  ServiceRequest update, delete (sic, lower-case r); filters _lastUpdated, _id
// A subscription's filters (backport-filter-criteria) are parsed with the search parser, so they
// mean what the same search would, and evaluated in memory against the version a write stores
// (the search index of that version is written after the subscription hook runs).
import type { Resource, Task } from 'fhir/r4';
import { extractIndexRows, type IndexRows, type ReferenceRow, type TokenRow } from '../fhir/search/index-rows.ts';
import type { SearchParameterRegistry } from '../fhir/search/search-parameter-registry.ts';
import type { DateMatch, Filter, ReferenceMatch, TokenMatch } from '../fhir/search/search-request.ts';

export type TopicInteraction = 'create' | 'update' | 'delete';

export interface Topic {
  /** The canonical URL subscribers put in Subscription.criteria. */
  url: string;
  /** Other spellings accepted for the same topic. */
  aliases: string[];
  resourceType: 'Task' | 'ServiceRequest';
  interactions: TopicInteraction[];
  /** Filter parameters (canFilterBy) and the modifiers each accepts. */
  filters: Record<string, string[]>;
  /** The topic's own criteria on the version that triggers (deletes pass: resultForDelete test-passes). */
  current?: (resource: Resource) => boolean;
}

const SDOHCC_TOPIC = 'http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic';

export const TASK_TOPIC = `${SDOHCC_TOPIC}/Task`;
export const SERVICE_REQUEST_TOPIC = `${SDOHCC_TOPIC}/Servicerequest`;

export const TOPICS: readonly Topic[] = [
  {
    url: TASK_TOPIC,
    aliases: [],
    resourceType: 'Task',
    interactions: ['create', 'update', 'delete'],
    filters: { _lastUpdated: [], code: ['not'], owner: [], requester: [], status: ['not'] },
    current: (resource) => (resource as Task).status !== 'draft' && (resource as Task).intent === 'order',
  },
  {
    url: SERVICE_REQUEST_TOPIC,
    // The IG's canonical has a lower-case r; the expected spelling is accepted as well.
    aliases: [`${SDOHCC_TOPIC}/ServiceRequest`],
    resourceType: 'ServiceRequest',
    interactions: ['update', 'delete'],
    filters: { _lastUpdated: [], _id: [] },
  },
];

/** The topic a Subscription.criteria names (a canonical, optionally `|version`), or undefined. */
export function topicOf(criteria: string): Topic | undefined {
  const url = criteria.split('|')[0];
  return TOPICS.find((topic) => topic.url === url || topic.aliases.includes(url));
}

export const topicByUrl = (url: string): Topic | undefined => TOPICS.find((topic) => topic.url === url);

/** Whether a write of `interaction` on `resource` (the new version, or the last one before a delete) is an event of `topic`. */
export function triggers(topic: Topic, interaction: TopicInteraction, resource: Resource): boolean {
  if (resource.resourceType !== topic.resourceType || !topic.interactions.includes(interaction)) return false;
  return interaction === 'delete' || !topic.current || topic.current(resource);
}

/**
 * A test of filter lists against one resource: whether it meets every filter (they are ANDed; each
 * one's values are ORed, as in a search). The resource's index rows are extracted once, on first need.
 */
export function filterMatcher(registry: SearchParameterRegistry, resource: Resource): (filters: readonly Filter[]) => boolean {
  let rows: IndexRows | undefined;
  const indexRows = () => (rows ??= extractIndexRows(registry, resource));
  return (filters) => filters.every((filter) => matchesFilter(filter, resource, indexRows));
}

function matchesFilter(filter: Filter, resource: Resource, rows: () => IndexRows): boolean {
  switch (filter.kind) {
    case 'id':
      return resource.id !== undefined && filter.ids.includes(resource.id);
    case 'lastUpdated': {
      const at = resource.meta?.lastUpdated ? Date.parse(resource.meta.lastUpdated) : NaN;
      return !Number.isNaN(at) && filter.anyOf.some((match) => instantMatches(match, at));
    }
    case 'index': {
      let found: boolean;
      if (filter.match.table === 'search_token') {
        const own = rows().token.filter((row) => row.code === filter.code);
        found = filter.match.anyOf.some((match) => own.some((row) => tokenMatches(match, row)));
      } else if (filter.match.table === 'search_reference') {
        const own = rows().reference.filter((row) => row.code === filter.code);
        found = filter.match.anyOf.some((match) => own.some((row) => referenceMatches(match, row)));
      } else {
        return false; // not offered by any topic
      }
      return filter.negate ? !found : found;
    }
    case 'and':
      return filter.allOf.every((inner) => matchesFilter(inner, resource, rows));
    case 'or':
      return filter.anyOf.some((inner) => matchesFilter(inner, resource, rows));
    default:
      return false; // chains, _has, :missing and compartments are refused when the subscription is written
  }
}

/** As the search SQL compares an instant column (src/store/search-sql.ts instantSql). */
function instantMatches(match: DateMatch, at: number): boolean {
  const start = Date.parse(match.start);
  const end = Date.parse(match.end);
  switch (match.prefix) {
    case 'eq':
    case 'ap':
      return at >= start && at < end;
    case 'ne':
      return at < start || at >= end;
    case 'gt':
    case 'sa':
      return at >= end;
    case 'lt':
    case 'eb':
      return at < start;
    case 'ge':
      return at >= start;
    case 'le':
      return at < end;
  }
}

function tokenMatches(match: TokenMatch, row: TokenRow): boolean {
  if (match.text !== undefined || match.typeCode !== undefined || match.typeSystem !== undefined) return false;
  if (match.value !== undefined && row.value !== match.value) return false;
  if (match.system === null && row.system !== null) return false;
  if (match.system !== undefined && match.system !== null && row.system !== match.system) return false;
  return true;
}

function referenceMatches(match: ReferenceMatch, row: ReferenceRow): boolean {
  const parts: boolean[] = [];
  if (match.url !== undefined) parts.push(row.url === match.url);
  if (match.targetId !== undefined) parts.push(row.target_id === match.targetId);
  if (match.targetType !== undefined) parts.push(row.target_type === match.targetType);
  if (match.identifierValue !== undefined) parts.push(row.identifier_value === match.identifierValue);
  if (match.identifierSystem !== undefined) parts.push(row.identifier_system === match.identifierSystem);
  return parts.length > 0 && parts.every(Boolean);
}
