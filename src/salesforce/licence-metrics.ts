// Licence headroom as metrics (issue 13): the free seats of each licence as last read (seats are read after a
// refusal and by doctor, never on the common path, so the gauge shows the state when it mattered) and a count of
// refusals by kind of licence. Fed by the LicenceGateway of the same Salesforce gateway (licences.ts).
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Gateway } from './gateway.js'

/** Seats of one licence as Salesforce counts them (licences.ts reads them). */
export interface Seats { id: string, name: string, label: string, used: number, total: number }

export type LicenceKind = 'userLicence' | 'permissionSetLicence' | 'packageLicence' | 'featureLicence'

export interface LicenceObserver {
  seats (kind: LicenceKind, seats: readonly Seats[]): void
  refused (kind: LicenceKind): void
}

const observers = new WeakMap<Gateway, LicenceObserver>()

/** The observer registered for this gateway, if any. */
export function licenceObserverOf (gateway: Gateway): LicenceObserver | undefined {
  return observers.get(gateway)
}

/** Registers the licence metrics in `registry`, fed by every LicenceGateway built on `gateway`. */
export function watchLicences (gateway: Gateway, registry: Registry): void {
  const free = new Gauge({
    name: 'scimforce_licence_seats_free',
    help: 'Free seats of a Salesforce licence as last read (after a LICENSE_LIMIT_EXCEEDED refusal); -1 for a site licence',
    labelNames: ['kind', 'licence'] as const,
    registers: [registry],
  })
  const refusals = new Counter({
    name: 'scimforce_licence_refusals_total',
    help: 'SCIM writes Salesforce refused for want of a free licence seat (LICENSE_LIMIT_EXCEEDED), by kind of licence',
    labelNames: ['kind'] as const,
    registers: [registry],
  })
  observers.set(gateway, {
    seats (kind, seats) {
      // Label values are licence API names (DeveloperName, NamespacePrefix, UserLicense Name): few, and the org's.
      for (const s of seats) free.set({ kind, licence: s.name.slice(0, 80) }, s.total < 0 ? -1 : Math.max(0, s.total - s.used))
    },
    refused (kind) { refusals.inc({ kind }) },
  })
}
