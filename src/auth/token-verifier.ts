import type { Request, Response } from 'express';
import { auth, type JWTPayload, type JWTHeader } from 'express-oauth2-jwt-bearer';
import type { Config } from '../config.js';
import type { DpopMode } from './challenge.js';
import { classifyVerificationFailure } from './token-failure.js';

/** Header parameters through which a token could name its own keys; never trusted (RFC 8725 §3.10). */
const KEY_REFERENCE_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

export type VerifyToken = (req: Request) => Promise<JWTPayload>;

/** The settings of the token library that this API needs. */
export interface VerifierSettings {
  /** One issuer, or several: then each token is checked against its own issuer's keys only. */
  issuers: readonly string[];
  audience: string;
  jwksUri: string | undefined;
  algorithms: readonly string[];
  clockToleranceSeconds: number;
  strict: boolean;
  timeoutMs: number;
  jwksCooldownMs: number;
  dpop: DpopMode;
  dpopProofMaxAgeSeconds: number;
}

export function verifierSettings(config: Config, issuers: readonly string[]): VerifierSettings {
  return {
    issuers,
    audience: config.AUDIENCE,
    jwksUri: config.JWKS_URI,
    algorithms: config.TOKEN_SIGNING_ALGS,
    clockToleranceSeconds: config.CLOCK_TOLERANCE_SECONDS,
    strict: config.STRICT_RFC9068,
    timeoutMs: config.ISSUER_TIMEOUT_MS,
    jwksCooldownMs: config.JWKS_COOLDOWN_MS,
    dpop: config.DPOP,
    dpopProofMaxAgeSeconds: config.DPOP_PROOF_MAX_AGE_SECONDS,
  };
}

/**
 * Verifies the request's access token with `express-oauth2-jwt-bearer` (signature against the issuer's JWKS,
 * `iss`, `aud`, `exp`, `nbf`), adding what the library leaves out: an algorithm allow-list that also applies to
 * keys found by discovery, refusal of tokens that name their own keys, and an `iat` that is not in the future.
 * The token must already have been read from the Authorization header; the library reads it again from there.
 */
export function createTokenVerifier(settings: VerifierSettings): VerifyToken {
  const { algorithms, clockToleranceSeconds: tolerance, strict, issuers } = settings;
  const middleware = auth({
    audience: settings.audience,
    ...issuerOptions(issuers, settings.jwksUri),
    dpop: {
      enabled: settings.dpop !== 'disabled',
      required: settings.dpop === 'required',
      iatOffset: settings.dpopProofMaxAgeSeconds,
      iatLeeway: tolerance,
    },
    clockTolerance: tolerance,
    strict,
    timeoutDuration: settings.timeoutMs,
    cooldownDuration: settings.jwksCooldownMs,
    validators: {
      alg: (alg: unknown, _claims: JWTPayload, header: JWTHeader) =>
        typeof alg === 'string' && algorithms.includes(alg) && KEY_REFERENCE_HEADERS.every((name) => !(name in header)),
      iat: (iat: unknown) =>
        iat === undefined ? !strict : typeof iat === 'number' && iat <= Math.floor(Date.now() / 1000) + tolerance,
      sub: (sub: unknown) => typeof sub === 'string' && sub !== '',
      // jose has already checked the time itself; a failure here can only mean the claim is missing.
      exp: (exp: unknown) => typeof exp === 'number',
    },
  });
  const unusedResponse = {} as Response;

  return (req) =>
    new Promise((resolve, reject) => {
      void middleware(req, unusedResponse, (error?: unknown) => {
        if (error !== undefined) reject(classifyVerificationFailure(error));
        else resolve(req.auth!.payload);
      });
    });
}

function issuerOptions(issuers: readonly string[], jwksUri: string | undefined) {
  // With JWKS_URI the issuer is taken as written and discovery is skipped.
  if (jwksUri) return { issuer: issuers[0]!, jwksUri };
  // Several issuers: the library picks the configuration (and key cache) matching the token's `iss`.
  if (issuers.length > 1) return { mcd: { issuers: [...issuers] } };
  return { issuerBaseURL: issuers[0]! };
}
