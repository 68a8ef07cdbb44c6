// Metabase fixtures: the application database (real schemas of v50, v53, v54, v58 and v60, on Postgres,
// MySQL/MariaDB or an embedded PGlite served over the wire protocol) and the REST API.
export * from './api-emulator.js';
export * from './app-database.js';
export * from './dataset.js';
export * from './embedded.js';
export { type AppDbDialect, type MetabaseVersion, metabaseVersions } from './schema.js';
