// Which back-end a configuration names: STORE_URL (store.url) → PostgreSQL, shared by replicas; otherwise the
// embedded SQLite file at STORE_PATH (store.path), for one replica.
import type { Config } from '../config/types.js'
import type { Store } from './types.js'
import { openSqliteStore } from './sqlite.js'

export type StoreConfig = Pick<Config['store'], 'path' | 'url'>

/** What the store is, for logs and doctor: never the URL's password. */
export function describeStore (store: StoreConfig): string {
  if (store.url === undefined) return `SQLite file ${store.path}`
  try {
    const u = new URL(store.url)
    return `PostgreSQL ${u.hostname}${u.port !== '' ? `:${u.port}` : ''}${u.pathname}`
  } catch {
    return 'PostgreSQL'
  }
}

export async function openStoreFromConfig (config: { store: StoreConfig }): Promise<Store> {
  const { url, path } = config.store
  if (url === undefined) return openSqliteStore(path)
  // Loaded only when asked for: a SQLite deployment never loads the driver.
  const { openPostgresStore } = await import('./postgres.js')
  return await openPostgresStore(url)
}
