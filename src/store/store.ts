// The store's entry point: its types and the back-end that opens it.
export * from './types.js'
export { openSqliteStore as openStore, localLocks } from './sqlite.js'
export { openStoreFromConfig, describeStore } from './open.js'
export * from './audit.js'
