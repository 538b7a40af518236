import { Counter, Gauge, type Registry } from 'prom-client';

export type AlertsMetrics = ReturnType<typeof createAlertsMetrics>;

export function createAlertsMetrics(registry: Registry) {
  const registers = [registry];
  return {
    findings: new Counter({ name: 'vigil_alerts_findings_total', help: 'Findings consumed', labelNames: ['verdict'], registers }),
    incidents: new Counter({ name: 'vigil_alerts_incidents_total', help: 'Incidents opened', labelNames: ['camera', 'query'], registers }),
    duplicates: new Counter({ name: 'vigil_alerts_duplicate_findings_total', help: 'Findings already stored (replays)', registers }),
    rejected: new Counter({ name: 'vigil_alerts_findings_rejected_total', help: 'Malformed findings sent to the dead-letter topic', registers }),
    clients: new Gauge({ name: 'vigil_alerts_socket_clients', help: 'Connected Socket.IO clients', registers }),
    requests: new Counter({ name: 'vigil_alerts_http_requests_total', help: 'REST requests', labelNames: ['route', 'status'], registers }),
  };
}
