import type { SourceFormat } from '$lib/protocol/api.ts';

/** How each format is called in the tools that send it. */
export const FORMAT_LABEL: Record<SourceFormat, string> = {
  alertmanager: 'Prometheus Alertmanager',
  grafana: 'Grafana alerting',
  pagerduty: 'PagerDuty Events API v2',
  generic: 'Generic JSON',
};

/** Where a new source's token goes in the sending tool, ready to paste. */
export interface SetupSnippet {
  /** Where to paste it, in the sender's own words. */
  where: string;
  /** Plain text for a `<pre>`: never HTML. */
  text: string;
}

/**
 * The sender-side configuration for a new source: its endpoint on this server (`origin`) and its token.
 * `signed` says the Grafana source checks an HMAC signature.
 */
export function setupSnippet(format: SourceFormat, origin: string, token: string, signed = false): SetupSnippet {
  switch (format) {
    case 'alertmanager':
      return {
        where: 'Add this receiver to alertmanager.yml and route alerts to it:',
        text: [
          'receivers:',
          '  - name: watchfloor',
          '    webhook_configs:',
          `      - url: ${origin}/api/v1/ingest/alertmanager`,
          '        send_resolved: true',
          '        http_config:',
          '          authorization:',
          '            type: Bearer',
          `            credentials: ${token}`,
        ].join('\n'),
      };
    case 'grafana':
      return {
        where: 'In Grafana, add a contact point with the Webhook integration:',
        text: [
          `URL:                   ${origin}/api/v1/ingest/grafana`,
          'HTTP method:           POST',
          `Authorization header:  Bearer ${token}`,
          ...(signed ? ['HMAC signature:        the secret you entered here (X-Grafana-Alerting-Signature)'] : []),
        ].join('\n'),
      };
    case 'pagerduty':
      return {
        where: 'Point the sender’s PagerDuty integration at this server instead of events.pagerduty.com:',
        text: [`Events API v2 URL:  ${origin}/v2/enqueue`, `Routing key:        ${token}`].join('\n'),
      };
    case 'generic':
      return {
        where: 'Post signals from any script or tool, for example with curl:',
        text: [
          `curl -X POST '${origin}/api/v1/ingest/generic' \\`,
          `  -H 'Authorization: Bearer ${token}' \\`,
          "  -H 'Content-Type: application/json' \\",
          "  --data '{",
          '    "signals": [{',
          '      "status": "firing",',
          '      "severity": "critical",',
          '      "summary": "BGP session down on core-sw-01",',
          '      "node": "core-sw-01"',
          '    }]',
          "  }'",
        ].join('\n'),
      };
  }
}
