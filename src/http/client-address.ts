import type { Request } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { CLIENT_KEY, type ApiRequest } from './request-state.js';

/** How many addresses' keys are remembered before starting afresh. */
const MAX_REMEMBERED_ADDRESSES = 10_000;

/**
 * The key a client is counted under, by its address: the rate limit for requests without a valid token and the
 * budget of client-error log lines both count per client. An IPv4 client is its address, an IPv6 client its /56
 * (express-rate-limit's ipKeyGenerator: one subscriber's prefix, which it can change addresses within at will).
 * `trustProxy` is Express's `trust proxy` setting (TRUST_PROXY), which decides what the client's address is.
 */
export function clientKeyOf(trustProxy: boolean | number | string): (req: Request) => string {
  // ipKeyGenerator parses the address twice for an IPv6 client: its key is remembered per address (bounded), as a
  // flood of refused tokens comes from few addresses and each of its requests would pay it again.
  const keys = new Map<string, string>();
  // Trusting no proxy, Express's req.ip is the connection's address, reached by parsing X-Forwarded-For first.
  const trustsNoProxy = trustProxy === false || trustProxy === 0;
  // A refused request asks twice (its address's rate limit, then its log line): the key is kept on the request, as
  // behind a proxy finding the address means parsing X-Forwarded-For.
  return (req) => {
    const keyed = req as Request & Pick<ApiRequest, typeof CLIENT_KEY>;
    if (keyed[CLIENT_KEY] !== undefined) return keyed[CLIENT_KEY];
    const ip = (trustsNoProxy ? req.socket.remoteAddress : req.ip) ?? 'unknown';
    let key = keys.get(ip);
    if (key === undefined) {
      if (keys.size >= MAX_REMEMBERED_ADDRESSES) keys.clear();
      key = ipKeyGenerator(ip);
      keys.set(ip, key);
    }
    keyed[CLIENT_KEY] = key;
    return key;
  };
}
