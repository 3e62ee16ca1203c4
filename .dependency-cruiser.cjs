/**
 * The direction of imports between the parts of src/ (run by `npm run lint:deps`, part of `npm run lint` and so of `npm test`).
 *
 * src/ is layered: main.ts and app.ts compose everything and nothing imports them; config.ts, errors.ts and
 * heap-growth.ts are the base every folder may import, and import no folder themselves; between folders, imports run
 * one way (no folder imports a folder that imports it back, directly or through others), and the storage and shared
 * state backends (db/, state/) never reach the web layer. Type-only imports count: a type is a dependency too.
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular-files',
      severity: 'error',
      comment: 'A module of src/ imports one that imports it back (directly or through others): move what both need to where it belongs.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment: 'A folder of src/ imports a folder that imports it back (directly or through others): move what both need to where it belongs.',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'base-imports-no-folder',
      severity: 'error',
      comment:
        "src/'s own files other than main.ts and app.ts (config.ts, errors.ts …) are what every folder builds on: they import no folder of src/, or that folder and they would depend on each other.",
      from: { path: '^src/[^/]+\\.ts$', pathNot: '^src/(main|app)\\.ts$' },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'nothing-imports-the-composition',
      severity: 'error',
      comment: 'main.ts and app.ts put the parts together; a part that imports them depends on every other part.',
      from: { path: '^src/', pathNot: '^src/main\\.ts$' },
      to: { path: '^src/(main|app)\\.ts$' },
    },
    {
      name: 'backends-below-the-web-layer',
      severity: 'error',
      comment:
        'db/ and state/ are below the web layer: they never import http/, a router or a health route (npm run db:copy must not load router code).',
      from: { path: '^src/(db|state)/' },
      to: { path: ['^src/http/', '\\.router\\.ts$', '^src/health/(?!readiness\\.ts$)'] },
    },
    {
      name: 'backends-never-reach-the-web-layer',
      severity: 'error',
      comment: 'db/ and state/ do not reach http/, a router or a health route through other modules either.',
      from: { path: '^src/(db|state)/' },
      to: { path: ['^src/http/', '\\.router\\.ts$', '^src/health/(?!readiness\\.ts$)'], reachable: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    // Type-only imports are dependencies too (a cycle through types is still a cycle).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
