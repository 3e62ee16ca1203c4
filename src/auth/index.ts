export { createAuthenticate } from './authenticate.js';
export { requireScopes, requireUser } from './guards.js';
export { callerOf, findCaller, type Caller } from './caller.js';
export { AuthError, bearerChallenge } from './auth-errors.js';
