/**
 * The part of `oidc-provider` (v9, which ships no type declarations) that the development authorization
 * server uses. Reference: https://github.com/panva/node-oidc-provider/blob/main/docs/README.md
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type UnknownObject = Record<string, unknown>;

  /** The Koa context oidc-provider hands to configuration functions. */
  export interface KoaContextWithOIDC {
    oidc: {
      readonly params?: UnknownObject;
      readonly route?: string;
      /** The end-user's session at the authorization server (login time, `acr`, `amr`). */
      readonly session?: Session;
      /** What the request has loaded so far: `AuthorizationCode`, `RefreshToken`, `RotatedRefreshToken`, `Grant`… */
      readonly entities: Readonly<Record<string, unknown>>;
    };
    type: string;
    body: unknown;
    status: number;
    set(fields: Record<string, string>): void;
  }

  export interface ClientMetadata {
    client_id: string;
    application_type?: 'native' | 'web';
    token_endpoint_auth_method?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    [key: string]: unknown;
  }

  export interface Session {
    readonly accountId?: string;
    readonly acr?: string;
    readonly amr?: string[];
    /** Epoch seconds of the login. */
    authTime(): number | undefined;
  }

  /** The login details a grant source (authorization code, refresh token) carries from the session. */
  export interface AuthenticationSource {
    readonly authTime?: number;
    readonly acr?: string;
    readonly amr?: string[];
  }

  /** A token oidc-provider is about to issue, as `extraTokenClaims` receives it. */
  export interface IssuedToken {
    readonly kind: string;
  }

  /** A reason to show the user an interaction; its function returns `Check.REQUEST_PROMPT` when one is needed. */
  export class Check {
    constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    static readonly REQUEST_PROMPT: true;
    static readonly NO_NEED_TO_PROMPT: false;
  }

  /** One prompt of the interaction policy (`login`, `consent`) and the checks that trigger it. */
  export interface Prompt {
    readonly name: string;
    readonly checks: Check[] & { add(check: Check, index?: number): void };
  }

  export type InteractionPolicy = Prompt[] & { get(name: string): Prompt | undefined };

  export const interactionPolicy: {
    Check: typeof Check;
    /** A fresh copy of the default policy: `login` (no session, `max_age`, …) then `consent`. */
    base(): InteractionPolicy;
  };

  /** A registered client, as oidc-provider passes it to configuration functions. */
  export interface Client {
    readonly clientId: string;
    /** How the client authenticates at the token, introspection and revocation endpoints (`none`: a public client). */
    readonly clientAuthMethod: string;
    grantTypeAllowed(type: string): boolean;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<{ sub: string; [claim: string]: unknown }>;
  }

  export interface ResourceServer {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string } };
  }

  /** A token as the introspection and revocation policies see it. */
  export interface IntrospectedToken {
    readonly kind: string;
    readonly clientId: string;
  }

  /** A storage adapter for one model (`Session`, `Grant`, `RefreshToken`…). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface AdapterPayload {
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number;
    [key: string]: unknown;
  }

  export interface ErrorOut {
    error: string;
    error_description?: string;
    [key: string]: unknown;
  }

  export interface Configuration {
    /** The `acr` values this server can satisfy, advertised as `acr_values_supported`. */
    acrValues?: string[];
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    cookies?: { keys?: string[] };
    expiresWithSession?: (ctx: KoaContextWithOIDC, source: unknown) => boolean | Promise<boolean>;
    /** Claims added to access tokens (JWT format: in the token itself). */
    extraTokenClaims?: (ctx: KoaContextWithOIDC, token: IssuedToken) => UnknownObject | undefined | Promise<UnknownObject | undefined>;
    extraParams?: Record<string, (ctx: KoaContextWithOIDC, value: string | undefined, client: Client) => void | Promise<void>>;
    features?: {
      devInteractions?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: KoaContextWithOIDC, client: Client, oneOf?: string[]) => string | string[] | undefined | Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: KoaContextWithOIDC, model: unknown) => boolean | Promise<boolean>;
        getResourceServerInfo?: (ctx: KoaContextWithOIDC, resourceIndicator: string, client: Client) => ResourceServer | Promise<ResourceServer>;
      };
      /** RFC 7662; `allowedPolicy` says whether `client` may learn about `token`. */
      introspection?: { enabled: boolean; allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: IntrospectedToken) => boolean | Promise<boolean> };
      /** RFC 7009; `allowedPolicy` says whether `client` may revoke `token`. */
      revocation?: { enabled: boolean; allowedPolicy?: (ctx: KoaContextWithOIDC, client: Client, token: IntrospectedToken) => boolean | Promise<boolean> };
      [feature: string]: unknown;
    };
    findAccount?: (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => Account | undefined | Promise<Account | undefined>;
    interactions?: {
      policy?: InteractionPolicy;
      url?: (ctx: KoaContextWithOIDC, interaction: Interaction) => string | Promise<string>;
    };
    issueRefreshToken?: (ctx: KoaContextWithOIDC, client: Client, code: unknown) => boolean | Promise<boolean>;
    jwks?: { keys: UnknownObject[] };
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: Client) => boolean };
    renderError?: (ctx: KoaContextWithOIDC, out: ErrorOut, error: Error) => void | Promise<void>;
    responseTypes?: string[];
    rotateRefreshToken?: boolean | ((ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
    scopes?: string[];
    ttl?: Record<string, number | ((...args: unknown[]) => number)>;
    [key: string]: unknown;
  }

  export interface PromptDetails {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
    [key: string]: unknown;
  }

  export interface Interaction {
    uid: string;
    prompt: { name: string; reasons: string[]; details: PromptDetails };
    params: UnknownObject;
    session?: { accountId: string };
    grantId?: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; acr?: string; amr?: string[] };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export class Grant {
    constructor(properties: { accountId: string; clientId: string });
    static find(id: string): Promise<Grant | undefined>;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: typeof Grant;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (...args: never[]) => void): this;
  }

  export class OIDCProviderError extends Error {
    readonly error: string;
    readonly error_description?: string;
    readonly error_detail?: string;
    readonly status: number;
    readonly expose: boolean;
  }

  type ProviderErrorClass = new (description?: string, detail?: string) => OIDCProviderError;

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidTarget: ProviderErrorClass;
    InvalidRequest: ProviderErrorClass;
    SessionNotFound: ProviderErrorClass;
  };

  export default Provider;
}
