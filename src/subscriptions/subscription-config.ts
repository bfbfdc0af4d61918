// Reads an R4 Subscription in the Subscriptions R5 Backport shape (backport-subscription profile)
// and says what the server does not support, one issue per problem with its FHIRPath:
//   criteria                      a supported topic canonical (topics.ts)
//   criteria.extension            backport-filter-criteria: `[Type?]param=value&...`, the topic's filters only
//   channel.type                  rest-hook (the only channel offered)
//   channel.endpoint              https (http only with ALLOW_HTTP_ENDPOINTS)
//   channel.payload               application/fhir+json (or application/json); its backport-payload-content
//                                 extension: empty | id-only | full-resource
//   channel.header                `Name: value`
//   channel.extension             backport-heartbeat-period, backport-timeout, backport-max-count
import type { Extension, Subscription } from 'fhir/r4';
import type { IssueInput } from '../fhir/errors.ts';
import { FhirError } from '../fhir/errors.ts';
import { parseSearch } from '../fhir/search/parse-search.ts';
import type { SearchParameterRegistry } from '../fhir/search/search-parameter-registry.ts';
import type { Filter, SearchRequest } from '../fhir/search/search-request.ts';
import { topicOf, type Topic } from './topics.ts';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const FILTER_CRITERIA = `${BACKPORT}/backport-filter-criteria`;
export const PAYLOAD_CONTENT = `${BACKPORT}/backport-payload-content`;
export const HEARTBEAT_PERIOD = `${BACKPORT}/backport-heartbeat-period`;
export const TIMEOUT = `${BACKPORT}/backport-timeout`;
export const MAX_COUNT = `${BACKPORT}/backport-max-count`;
export const SUBSCRIPTION_STATUS_PROFILE = `${BACKPORT}/backport-subscription-status-r4`;
export const NOTIFICATION_PROFILE = `${BACKPORT}/backport-subscription-notification-r4`;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
const CONTENTS: readonly string[] = ['empty', 'id-only', 'full-resource'];
const MIME_TYPES: readonly string[] = ['application/fhir+json', 'application/json'];
/** Headers the server sets itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'connection', 'transfer-encoding']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const DEFAULT_TIMEOUT_SECONDS = 10;
const MAX_TIMEOUT_SECONDS = 60;
const MAX_HEARTBEAT_SECONDS = 7 * 24 * 3600;

export interface ChannelSettings {
  endpoint: string;
  headers: [string, string][];
  mimeType: string;
  content: PayloadContent;
  heartbeatSeconds?: number;
  timeoutSeconds: number;
}

export interface CriteriaSettings {
  topic: Topic;
  /** The filters as one query (`owner=Organization/x&status=requested`), and parsed. */
  query: URLSearchParams;
  parsed: SearchRequest;
  filters: Filter[];
}

export interface ParsedSubscription {
  criteria?: CriteriaSettings;
  channel?: ChannelSettings;
  issues: IssueInput[];
}

export interface ReadOptions {
  registry: SearchParameterRegistry;
  fhirBase: string;
  allowHttpEndpoints: boolean;
}

const unsupported = (diagnostics: string, expression: string): IssueInput => ({ code: 'not-supported', diagnostics, expression });
const invalid = (diagnostics: string, expression: string): IssueInput => ({ code: 'invalid', diagnostics, expression });

export function readSubscription(subscription: Subscription, options: ReadOptions): ParsedSubscription {
  const issues: IssueInput[] = [];
  if (subscription.status === 'error') {
    issues.push(invalid(`Subscription.status 'error' is set by the server; create or update with 'requested' (or 'off')`, 'Subscription.status'));
  }
  const criteria = readCriteria(subscription, options, issues);
  const channel = readChannel(subscription, options.allowHttpEndpoints, issues);
  return { criteria, channel, issues };
}

function readCriteria(subscription: Subscription, options: ReadOptions, issues: IssueInput[]): CriteriaSettings | undefined {
  const topic = topicOf(subscription.criteria ?? '');
  if (!topic) {
    issues.push(
      unsupported(
        `Subscription.criteria must be the canonical URL of a supported topic (backport-subscription): ` +
          `http://hl7.org/fhir/us/sdoh-clinicalcare/SubscriptionTopic/Task or …/SubscriptionTopic/Servicerequest; ` +
          `'${subscription.criteria}' is not supported (R4 query criteria are not offered)`,
        'Subscription.criteria',
      ),
    );
    return undefined;
  }
  const query = new URLSearchParams();
  const before = issues.length;
  const extensions = subscription._criteria?.extension ?? [];
  extensions.forEach((extension, index) => {
    const expression = `Subscription.criteria.extension[${index}]`;
    if (extension.url !== FILTER_CRITERIA) return;
    const value = extension.valueString;
    if (typeof value !== 'string' || !value.trim()) {
      issues.push(invalid('backport-filter-criteria needs a valueString such as `Task?owner=Organization/123`', expression));
      return;
    }
    const question = value.indexOf('?');
    const typePart = question >= 0 ? value.slice(0, question) : /^[A-Z][A-Za-z]+$/.test(value) ? value : '';
    const params = question >= 0 ? value.slice(question + 1) : typePart ? '' : value;
    if (typePart && typePart !== topic.resourceType) {
      issues.push(invalid(`The filter is on ${typePart}, but topic ${topic.url} is about ${topic.resourceType}`, expression));
      return;
    }
    for (const [name, filterValue] of new URLSearchParams(params)) {
      const [code, modifier, ...rest] = name.split(':');
      const modifiers = topic.filters[code];
      if (!modifiers) {
        issues.push(
          unsupported(`Topic ${topic.url} cannot filter by '${code}'; its filters are ${Object.keys(topic.filters).join(', ')}`, expression),
        );
        continue;
      }
      if (rest.length > 0 || (modifier !== undefined && !modifiers.includes(modifier))) {
        issues.push(unsupported(`Modifier :${name.slice(code.length + 1)} is not supported on filter '${code}'`, expression));
        continue;
      }
      if (!filterValue) {
        issues.push(invalid(`Filter '${name}' has no value`, expression));
        continue;
      }
      query.append(name, filterValue);
    }
  });
  if (issues.length > before) return undefined;
  let parsed: SearchRequest;
  try {
    parsed = parseSearch(topic.resourceType, query, options.registry, { maxPageSize: 1, strict: true, fhirBase: options.fhirBase });
  } catch (error) {
    if (!(error instanceof FhirError)) throw error;
    for (const issue of error.outcome.issue) {
      const parameter = issue.expression?.[0] ? ` '${issue.expression[0]}'` : '';
      issues.push(invalid(`Invalid filter criteria${parameter}: ${issue.diagnostics ?? 'not understood'}`, 'Subscription.criteria.extension'));
    }
    return undefined;
  }
  return { topic, query, parsed, filters: parsed.filters };
}

function extensionValue(extensions: Extension[] | undefined, url: string): { extension: Extension; index: number } | undefined {
  const index = (extensions ?? []).findIndex((extension) => extension.url === url);
  return index >= 0 ? { extension: extensions![index], index } : undefined;
}

function readChannel(subscription: Subscription, allowHttpEndpoints: boolean, issues: IssueInput[]): ChannelSettings | undefined {
  const channel = subscription.channel;
  const before = issues.length;
  if (channel?.type !== 'rest-hook') {
    issues.push(unsupported(`Channel type '${channel?.type}' is not supported: this server delivers notifications by rest-hook only`, 'Subscription.channel.type'));
  }
  let endpoint = '';
  if (!channel?.endpoint) {
    issues.push(invalid('A rest-hook subscription needs channel.endpoint (the URL notifications are POSTed to)', 'Subscription.channel.endpoint'));
  } else {
    let url: URL | undefined;
    try {
      url = new URL(channel.endpoint);
    } catch {
      issues.push(invalid(`'${channel.endpoint}' is not an absolute URL`, 'Subscription.channel.endpoint'));
    }
    if (url && url.protocol !== 'https:' && !(allowHttpEndpoints && url.protocol === 'http:')) {
      issues.push(
        unsupported(
          `The endpoint must use https${allowHttpEndpoints ? ' or http' : ' (http only when the server runs with ALLOW_HTTP_ENDPOINTS=true)'}`,
          'Subscription.channel.endpoint',
        ),
      );
    }
    endpoint = channel.endpoint;
  }

  const mimeType = (channel?.payload ?? 'application/fhir+json').split(';')[0].trim().toLowerCase();
  if (!MIME_TYPES.includes(mimeType)) {
    issues.push(unsupported(`Payload type '${channel?.payload}' is not supported; use application/fhir+json`, 'Subscription.channel.payload'));
  }
  let content: PayloadContent = channel?.payload ? 'id-only' : 'empty';
  const contentExtension = extensionValue(channel?._payload?.extension, PAYLOAD_CONTENT);
  if (contentExtension) {
    const code = contentExtension.extension.valueCode;
    if (!code || !CONTENTS.includes(code)) {
      issues.push(
        unsupported(`Payload content '${code}' is not supported; use empty, id-only or full-resource`, `Subscription.channel.payload.extension[${contentExtension.index}]`),
      );
    } else {
      content = code as PayloadContent;
    }
  }

  const headers: [string, string][] = [];
  (channel?.header ?? []).forEach((header, index) => {
    const colon = header.indexOf(':');
    const name = colon > 0 ? header.slice(0, colon).trim() : '';
    const value = colon > 0 ? header.slice(colon + 1).trim() : '';
    if (!HEADER_NAME.test(name) || /[\r\n]/.test(value)) {
      issues.push(invalid(`channel.header must be 'Name: value'`, `Subscription.channel.header[${index}]`));
    } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
      issues.push(invalid(`Header '${name}' is set by the server`, `Subscription.channel.header[${index}]`));
    } else {
      headers.push([name, value]);
    }
  });

  const channelExtensions = channel?.extension;
  const unsigned = (url: string, name: string, min: number, max: number): number | undefined => {
    const found = extensionValue(channelExtensions, url);
    if (!found) return undefined;
    const value = found.extension.valueUnsignedInt ?? found.extension.valuePositiveInt;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      issues.push(invalid(`${name} must be a whole number of seconds from ${min} to ${max}`, `Subscription.channel.extension[${found.index}]`));
      return undefined;
    }
    return value;
  };
  const heartbeatSeconds = unsigned(HEARTBEAT_PERIOD, 'backport-heartbeat-period', 1, MAX_HEARTBEAT_SECONDS);
  const timeoutSeconds = unsigned(TIMEOUT, 'backport-timeout', 1, MAX_TIMEOUT_SECONDS) ?? DEFAULT_TIMEOUT_SECONDS;
  const maxCount = extensionValue(channelExtensions, MAX_COUNT);
  if (maxCount && !(typeof maxCount.extension.valuePositiveInt === 'number' && maxCount.extension.valuePositiveInt >= 1)) {
    issues.push(invalid('backport-max-count must be a positiveInt', `Subscription.channel.extension[${maxCount.index}]`));
  }
  if (issues.length > before) return undefined;
  return { endpoint, headers, mimeType, content, heartbeatSeconds, timeoutSeconds };
}

/** The channel settings of a stored (already checked) Subscription, for delivery. */
export function channelOf(subscription: Subscription, allowHttpEndpoints: boolean): ChannelSettings | undefined {
  return readChannel(subscription, allowHttpEndpoints, []);
}
