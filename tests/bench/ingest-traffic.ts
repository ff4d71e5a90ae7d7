/** The traffic bench:ingest and bench:ingest-compare send: Alertmanager webhook bodies of the same mix. */

/** Posts one Alertmanager webhook body to the server at `url` with a source's token; the status it answered (2xx: committed). */
export async function postBatch(url: string, token: string, body: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/ingest/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  await response.arrayBuffer();
  return response.status;
}

/** Alertmanager batches: ~40% new alerts, ~40% repeats of firing ones, ~20% resolving, and one marker incident. */
export function makeBatchFactory() {
  const firing: { fp: string; name: string; startsAt: string }[] = [];
  let seq = 0;
  return (size: number, marker: string) => {
    const alerts: object[] = [];
    const now = new Date().toISOString();
    const add = (fp: string, name: string, status: 'firing' | 'resolved', startsAt: string) =>
      alerts.push({ status, labels: { alertname: name, client: `client-${Number.parseInt(fp.slice(-2), 16) % 20}`, instance: `node-${fp}` }, annotations: { summary: `${name} on node-${fp}` }, startsAt, endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : now, fingerprint: fp });
    add(`m${marker}`, marker, 'firing', now);
    for (let i = 1; i < size; i++) {
      const r = Math.random();
      if (r < 0.4 || firing.length < 50) {
        const fp = (seq++).toString(16).padStart(8, '0');
        const entry = { fp, name: `Alert${seq % 50}`, startsAt: now };
        firing.push(entry);
        add(entry.fp, entry.name, 'firing', entry.startsAt);
      } else if (r < 0.8) {
        const entry = firing[Math.floor(Math.random() * firing.length)];
        add(entry.fp, entry.name, 'firing', entry.startsAt);
      } else {
        const entry = firing.splice(Math.floor(Math.random() * firing.length), 1)[0];
        add(entry.fp, entry.name, 'resolved', entry.startsAt);
      }
    }
    return { version: '4', groupKey: 'bench', truncatedAlerts: 0, status: 'firing', receiver: 'bench', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: 'http://bench', alerts };
  };
}
