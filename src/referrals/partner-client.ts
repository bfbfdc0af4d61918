// Outbound FHIR calls to partners: referral sources the hub fetches referrals from, full CBOs it pushes
// Tasks to and polls. One typed wrapper over fhir-kit-client that adds what every call needs:
//
// - Only http(s) URLs, https unless ALLOW_HTTP_ENDPOINTS=true, no user:password@ in URLs, and no
//   redirects (a redirect could lead to http or to another host than the one vetted).
// - Credentials per partner FHIR base URL (PARTNERS_FILE, see config.ts): none, a static bearer token,
//   or OAuth 2.0 client credentials (client_secret_basic), whose tokens are cached until shortly before
//   they expire and dropped on a 401. The longest configured base URL that a URL falls under decides.
// - A timeout per request, and errors that say whether a retry can help: PartnerHttpError.permanent is
//   true for 4xx answers other than 408, 409 and 429 (the queue modules dead-letter those at once).
//
// Error messages name the method, the URL and the status, never response bodies (they can hold PHI).
import { Client } from 'fhir-kit-client';
import type { Resource } from 'fhir/r4';
import type { PartnerAuth, PartnerConfig } from '../config.ts';

export class OutboundUrlError extends Error {
  override name = 'OutboundUrlError';
}

export class PartnerHttpError extends Error {
  override name = 'PartnerHttpError';
  readonly status: number | undefined;
  /** A retry cannot help (the partner refused or does not have it). */
  readonly permanent: boolean;
  constructor(message: string, status: number | undefined, permanent = status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status)) {
    super(message);
    this.status = status;
    this.permanent = permanent;
  }
}

/** Throws unless `url` may be called: http(s), https unless allowed, no credentials in it. */
export function checkOutboundUrl(url: string, allowHttp: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboundUrlError(`Not a URL: ${url.slice(0, 200)}`);
  }
  if (parsed.protocol !== 'https:' && !(allowHttp && parsed.protocol === 'http:')) {
    throw new OutboundUrlError(`Outbound endpoints must be https${allowHttp ? ' or http' : ' (ALLOW_HTTP_ENDPOINTS=true allows http)'}: ${parsed.origin}`);
  }
  if (parsed.username || parsed.password) throw new OutboundUrlError(`Outbound URLs may not carry credentials: ${parsed.origin}`);
  return parsed;
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');
/** Whether `url` is `base` or below it. */
const under = (url: string, base: string) => url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`);

/** A resource as read or written on a partner server, with the URL it has there. */
export interface RemoteResource<T extends Resource = Resource> {
  resource: T;
  /** `{base}/{type}/{id}` on the partner server. */
  url: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface PartnerClientsOptions {
  allowHttp: boolean;
  timeoutMs: number;
  /** The clock token expiry is measured on (tests). */
  now?: () => number;
}

/** Outbound FHIR clients for the configured partners; one per process, shared by the queue modules. */
export class PartnerClients {
  readonly #partners: PartnerConfig[];
  readonly #options: PartnerClientsOptions;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pendingTokens = new Map<string, Promise<string>>();

  constructor(partners: readonly PartnerConfig[], options: PartnerClientsOptions) {
    // Longest base first, so the most specific entry decides.
    this.#partners = [...partners].map((p) => ({ ...p, baseUrl: trimSlash(p.baseUrl) })).sort((a, b) => b.baseUrl.length - a.baseUrl.length);
    this.#options = options;
  }

  /** The configured partner whose base URL covers `url`. */
  partnerFor(url: string): PartnerConfig | undefined {
    const target = trimSlash(url);
    return this.#partners.find((partner) => under(target, partner.baseUrl));
  }

  /**
   * A client for the FHIR server at `baseUrl`. `listedOnly`: refuse servers not in PARTNERS_FILE
   * (URLs that arrive in data, such as an absolute Task.focus, must not make the hub call anywhere).
   * Servers from the hub's own directory (CBO Endpoints) may be unlisted: they are then called without credentials.
   */
  client(baseUrl: string, { listedOnly }: { listedOnly: boolean }): PartnerClient {
    const base = trimSlash(baseUrl);
    checkOutboundUrl(base, this.#options.allowHttp);
    const partner = this.partnerFor(base);
    if (!partner && listedOnly) throw new OutboundUrlError(`${new URL(base).origin} is not a configured partner (PARTNERS_FILE)`);
    return new PartnerClient(base, partner?.auth ?? { type: 'none' }, this);
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  get allowHttp(): boolean {
    return this.#options.allowHttp;
  }

  /** The Authorization header for `auth`, fetching (or reusing) a client-credentials token. */
  async authorization(auth: PartnerAuth): Promise<string | undefined> {
    if (auth.type === 'none') return undefined;
    if (auth.type === 'bearer') return `Bearer ${auth.token}`;
    const key = `${auth.tokenUrl}\u0000${auth.clientId}\u0000${auth.scope ?? ''}`;
    const now = (this.#options.now ?? Date.now)();
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > now) return `Bearer ${cached.token}`;
    let pending = this.#pendingTokens.get(key);
    if (!pending) {
      pending = this.#fetchToken(auth, key).finally(() => this.#pendingTokens.delete(key));
      this.#pendingTokens.set(key, pending);
    }
    return `Bearer ${await pending}`;
  }

  /** Forget a token the partner refused (401), so the next call fetches a new one. */
  dropToken(auth: PartnerAuth): void {
    if (auth.type === 'client_credentials') this.#tokens.delete(`${auth.tokenUrl}\u0000${auth.clientId}\u0000${auth.scope ?? ''}`);
  }

  async #fetchToken(auth: Extract<PartnerAuth, { type: 'client_credentials' }>, key: string): Promise<string> {
    checkOutboundUrl(auth.tokenUrl, this.#options.allowHttp);
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) body.set('scope', auth.scope);
    let response: Response;
    try {
      response = await fetch(auth.tokenUrl, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
    } catch (error) {
      throw new PartnerHttpError(`POST ${auth.tokenUrl} failed: ${(error as Error).name}`, undefined, false);
    }
    if (!response.ok) {
      await response.body?.cancel();
      // A refused client (400/401) stays refused until someone fixes the configuration.
      throw new PartnerHttpError(`POST ${auth.tokenUrl} answered ${response.status}`, response.status);
    }
    const json = (await response.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (!json || typeof json.access_token !== 'string') throw new PartnerHttpError(`POST ${auth.tokenUrl} returned no access_token`, response.status, false);
    const lifetime = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 300;
    // Renewed 30 s (or a tenth of a short lifetime) before it expires.
    const margin = Math.min(30, lifetime / 10) * 1000;
    this.#tokens.set(key, { token: json.access_token, expiresAt: (this.#options.now ?? Date.now)() + lifetime * 1000 - margin });
    return json.access_token;
  }
}

interface FhirKitError {
  response?: { status?: number };
  name?: string;
}

/** FHIR calls to one server. */
export class PartnerClient {
  readonly baseUrl: string;
  readonly #auth: PartnerAuth;
  readonly #clients: PartnerClients;
  readonly #client: Client;

  constructor(baseUrl: string, auth: PartnerAuth, clients: PartnerClients) {
    this.baseUrl = baseUrl;
    this.#auth = auth;
    this.#clients = clients;
    this.#client = new Client({ baseUrl, requestOptions: { redirect: 'error' } });
  }

  /** Absolute URL of `Type/id` on this server. */
  urlOf(type: string, id: string): string {
    return `${this.baseUrl}/${type}/${id}`;
  }

  /** Reads `Type/id` or an absolute URL below this server's base. */
  async read<T extends Resource>(reference: string): Promise<RemoteResource<T>> {
    const url = /^https?:\/\//.test(reference) ? reference : `${this.baseUrl}/${reference}`;
    if (!under(url, this.baseUrl)) throw new OutboundUrlError(`${url} is not on ${this.baseUrl}`);
    checkOutboundUrl(url, this.#clients.allowHttp);
    const resource = (await this.#call('GET', url, (options) => this.#client.request(url, { method: 'GET', options }))) as unknown as T;
    const match = /\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(url);
    if (!resource || (match && resource.resourceType !== match[1])) throw new PartnerHttpError(`GET ${url} did not return a ${match?.[1] ?? 'resource'}`, 200, true);
    return { resource, url: match ? this.urlOf(match[1], match[2]) : url };
  }

  /**
   * Creates `resource` (POST [type]); with `ifNoneExist` (e.g. `identifier=system|value`) a retry finds
   * the one an earlier try created instead of adding a second. Returns the id the server gave it.
   */
  async create<T extends Resource>(resource: T, ifNoneExist?: string): Promise<{ id: string; url: string }> {
    const type = resource.resourceType;
    const url = `${this.baseUrl}/${type}`;
    const headers: Record<string, string> = { prefer: 'return=representation' };
    if (ifNoneExist) headers['if-none-exist'] = ifNoneExist;
    const result = await this.#call('POST', url, (options) =>
      this.#client.create({ resourceType: type, body: resource as unknown as { resourceType: string }, options: { ...options, headers: { ...options.headers, ...headers } } }),
    );
    const location = Client.httpFor(result).response?.headers.get('location') ?? Client.httpFor(result).response?.headers.get('content-location');
    const fromLocation = location ? new RegExp(`${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/|$)`).exec(location)?.[1] : undefined;
    const id = fromLocation ?? (typeof result.id === 'string' ? result.id : undefined);
    if (!id) throw new PartnerHttpError(`POST ${url} returned neither a Location nor a resource id`, undefined, false);
    return { id, url: this.urlOf(type, id) };
  }

  /** Replaces `Type/id` (PUT), optionally only at version `ifMatch`. */
  async update<T extends Resource>(resource: T & { id: string }, ifMatch?: string): Promise<void> {
    const url = this.urlOf(resource.resourceType, resource.id);
    await this.#call('PUT', url, (options) =>
      this.#client.update({
        resourceType: resource.resourceType,
        id: resource.id,
        body: resource as unknown as { resourceType: string },
        options: ifMatch ? { ...options, headers: { ...options.headers, 'if-match': ifMatch } } : options,
      }),
    );
  }

  async #call<R>(method: string, url: string, run: (options: { headers: Record<string, string>; signal: AbortSignal }) => Promise<R>): Promise<R> {
    const authorization = await this.#clients.authorization(this.#auth);
    const headers: Record<string, string> = authorization ? { authorization } : {};
    try {
      return await run({ headers, signal: AbortSignal.timeout(this.#clients.timeoutMs) });
    } catch (error) {
      const status = (error as FhirKitError).response?.status;
      if (status === 401) {
        this.#clients.dropToken(this.#auth);
        // A fresh token may help once; a static token or no auth will not.
        throw new PartnerHttpError(`${method} ${url} answered 401`, 401, this.#auth.type !== 'client_credentials');
      }
      if (status !== undefined) throw new PartnerHttpError(`${method} ${url} answered ${status}`, status);
      if (error instanceof OutboundUrlError) throw error;
      throw new PartnerHttpError(`${method} ${url} failed: ${(error as Error)?.name ?? 'error'}`, undefined, false);
    }
  }
}

/** `{ base, type, id }` of an absolute FHIR URL `{base}/{Type}/{id}[/_history/{v}]`. */
export function parseAbsoluteReference(url: string): { base: string; type: string; id: string; url: string } | undefined {
  const match = /^(https?:\/\/.+?)\/([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(url);
  return match ? { base: match[1], type: match[2], id: match[3], url: `${match[1]}/${match[2]}/${match[3]}` } : undefined;
}
