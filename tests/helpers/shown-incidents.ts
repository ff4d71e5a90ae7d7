import type { Socket } from 'socket.io-client';
import { decodeDelta, decodeCatchUp, decodeSnapshot, incidentOfUpdate, type IncidentDto, type IncidentUpdate } from '../../src/lib/protocol/incidents.ts';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/lib/protocol/events.ts';

/**
 * Every state of an incident a socket was shown, whole, in the order it arrived: deltas carry patches
 * ({@link IncidentUpdate}), so a test that asks "did this screen see X with Y" reads the incidents they describe,
 * laid on what the socket was sent before, as the app's own sync does. Resolved ones included.
 */
export function shownIncidents(socket: Socket<ServerToClientEvents, ClientToServerEvents>, options: { snapshots?: boolean } = {}): IncidentDto[] {
  const shown: IncidentDto[] = [];
  const latest = new Map<string, IncidentDto>();
  const take = (incident: IncidentDto) => {
    latest.set(incident.id, incident);
    shown.push(incident);
  };
  const apply = (updates: IncidentUpdate[]) => {
    for (const update of updates) {
      const incident = incidentOfUpdate(update, latest.get(update.id));
      if (!incident) throw new Error(`incident #${update.number}: a patch on version ${update.from}, and this socket was never sent it`);
      take(incident);
    }
  };
  // Snapshots always set the base patches build on; they are shown only when asked.
  socket.on('incidents:snapshot', (frame) => {
    for (const incident of decodeSnapshot(frame).incidents) (options.snapshots ? take : (i: IncidentDto) => latest.set(i.id, i))(incident);
  });
  socket.on('incidents:changed', (delta) => apply(decodeDelta(delta).incidents));
  socket.on('incidents:resumed', (catchUp) => apply(decodeCatchUp(catchUp).incidents));
  return shown;
}
