import { parseDocument } from 'yaml';
import type { SignInEndpoints } from './sign-in-endpoints.js';

/** What the served contract says about signing in, beyond the issuer's endpoints. */
export interface ContractSignIn {
  /** The API's external origin (`PUBLIC_URL`): the contract's only server, where "Try it out" sends requests. */
  publicUrl: string;
  /** The client id the docs page signs in with; without one, the docs explain how to paste a token. */
  docsClientId: string | undefined;
}

const SCHEMES = ['components', 'securitySchemes'] as const;

/**
 * The contract as served: `openapi.yaml` with its OAuth schemes naming the authorization server the API is
 * configured with (the first issuer's authorization and token endpoints and its discovery URL) instead of the
 * development defaults written in the file, and the API's own origin as its server. Comments and layout of the file
 * are kept.
 *
 * @example
 * const served = servedContract(fs.readFileSync('openapi.yaml', 'utf8'), endpoints, { publicUrl: 'https://api.example.com', docsClientId: 'abc' });
 */
export function servedContract(spec: string, endpoints: SignInEndpoints, signIn: ContractSignIn): string {
  const document = parseDocument(spec);
  const flow = [...SCHEMES, 'oauth2', 'flows', 'authorizationCode'];
  if (!document.hasIn(flow) || !document.hasIn([...SCHEMES, 'openIdConnect'])) {
    throw new Error('openapi.yaml has no oauth2 authorizationCode flow or openIdConnect scheme to rewrite');
  }
  document.setIn([...flow, 'authorizationUrl'], endpoints.authorizationEndpoint);
  document.setIn([...flow, 'tokenUrl'], endpoints.tokenEndpoint);
  document.setIn([...SCHEMES, 'openIdConnect', 'openIdConnectUrl'], endpoints.discoveryUrl);
  document.set('servers', document.createNode([{ url: signIn.publicUrl, description: 'This API (PUBLIC_URL).' }]));

  const notes = [
    `This copy names the authorization server this API is configured with: ${endpoints.issuer}` +
      (endpoints.discovered
        ? ' (endpoints read from its discovery document).'
        : ' (its discovery document could not be read when this copy was made, so these are Auth0\'s paths; reload later).'),
    signIn.docsClientId
      ? `In \`/docs\`, "Authorize" signs in with the public client \`${signIn.docsClientId}\` (PKCE, S256).`
      : 'No sign-in client is configured for `/docs` (`DOCS_CLIENT_ID`): get an access token elsewhere (for example ' +
        '`npm run login`, then `npm run -s token`) and paste it under `bearerToken`.',
  ];
  const description = document.getIn([...SCHEMES, 'oauth2', 'description']);
  document.setIn([...SCHEMES, 'oauth2', 'description'], `${typeof description === 'string' ? description.trimEnd() : ''}\n\n${notes.join(' ')}\n`);
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}
