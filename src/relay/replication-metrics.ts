/**
 * Replication on /metrics, read from the services' status at scrape time (one status call per
 * service per scrape, shared by the gauges and bounded by each service client's own deadline):
 * per peer, its lag in serials, whether its last poll succeeded, its live link, the events stored
 * here from it and the bytes received from it (since its replication started). Labels: `service` (distributed,
 * cluster) and `peer` (its URL; peers are named by the operator or an admin's signed event, at
 * most 100 per service, so the label set stays small).
 */
import { Gauge, type Registry } from 'prom-client';
import type { PeerStatus } from '../sync/replication.js';
import type { ReplicationHost } from './replication-host.js';

type Snapshot = Awaited<ReturnType<ReplicationHost['statuses']>>;

const GAUGES: readonly [name: string, help: string, read: (peer: PeerStatus) => number][] = [
  [
    'orly_replication_peer_lag',
    'Serials of the peer not yet replicated here (at its last poll)',
    (p) => p.lag,
  ],
  [
    'orly_replication_peer_up',
    'Last poll of the peer succeeded (1) or not (0)',
    (p) => (p.status === 'active' ? 1 : 0),
  ],
  [
    'orly_replication_peer_live',
    'Live subscription to the peer open (1) or not (0)',
    (p) => (p.live ? 1 : 0),
  ],
  ['orly_replication_peer_events', 'Events stored here from the peer since start', (p) => p.eventsReplicated],
  [
    'orly_replication_peer_bytes_received',
    'Bytes received from the peer since start',
    (p) => p.bytesReceived,
  ],
];

export function registerReplicationMetrics(registry: Registry, host: ReplicationHost): void {
  if (!host.hasServices) return;
  // The gauges of one scrape are collected together: they share one round of status calls.
  let pending: Promise<Snapshot> | undefined;
  const snapshot = (): Promise<Snapshot> => {
    pending ??= host.statuses().finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };
  for (const [name, help, read] of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['service', 'peer'],
      registers: [registry],
      async collect() {
        const statuses = await snapshot();
        this.reset();
        for (const { service, status } of statuses)
          for (const peer of status.peers) {
            this.set({ service, peer: peer.url }, read(peer));
          }
      },
    });
  }
}
