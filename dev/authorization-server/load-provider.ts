import type * as OidcProvider from 'oidc-provider';

/**
 * Imports oidc-provider without the one line it prints on Node 20 ("Unsupported runtime", it asks for 22+):
 * this project supports Node ≥ 20.19 and runs the development server's tests there. Any other warning passes.
 */
export async function importOidcProvider(): Promise<typeof OidcProvider> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!(typeof args[0] === 'string' && args[0].includes('Unsupported runtime'))) warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
}
