export { createAuthenticate } from './authenticate.js';
export { ScopeGuards, requireAuthentication, requireUser } from './guards.js';
export { callerOf, findCaller, type Caller } from './caller.js';
export { AuthError } from './auth-errors.js';
export { buildChallenge, schemeOf, type ChallengeSettings, type DpopMode, type Scheme } from './challenge.js';
