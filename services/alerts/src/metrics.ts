import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AlertsMetrics = ReturnType<typeof createAlertsMetrics>;

export function createAlertsMetrics(registry: Registry) {
  const registers = [registry];
  return {
    findings: new Counter({ name: 'vigil_alerts_findings_total', help: 'Findings consumed', labelNames: ['verdict'], registers }),
    incidents: new Counter({ name: 'vigil_alerts_incidents_total', help: 'Incidents opened', labelNames: ['camera', 'query'], registers }),
    shadowIncidents: new Counter({ name: 'vigil_alerts_shadow_incidents_total', help: 'Would-be incidents of shadow queries (stored, never announced)', labelNames: ['query'], registers }),
    unconfirmed: new Counter({ name: 'vigil_alerts_unconfirmed_findings_total', help: 'Positive findings of a query with confirm that did not (yet) open an incident', labelNames: ['query'], registers }),
    extended: new Counter({ name: 'vigil_alerts_incidents_extended_total', help: 'Positive findings folded into an open incident', registers }),
    closed: new Counter({ name: 'vigil_alerts_incidents_closed_total', help: 'Incidents whose episode ended', labelNames: ['kind'], registers }),
    duplicates: new Counter({ name: 'vigil_alerts_duplicate_findings_total', help: 'Findings already stored (replays)', registers }),
    rejected: new Counter({ name: 'vigil_alerts_findings_rejected_total', help: 'Findings and camera statuses that failed their schema, sent to the dead-letter topic', registers }),
    chunksRejected: new Counter({ name: 'vigil_alerts_chunks_rejected_total', help: 'Frame chunks that failed their schema (not shown; infer dead-letters them)', registers }),
    evidenceFailures: new Counter({ name: 'vigil_alerts_evidence_failures_total', help: 'Findings whose evidence could not be stored', registers }),
    evidenceDeleted: new Counter({ name: 'vigil_alerts_evidence_deleted_total', help: 'Incidents whose evidence retention deleted', registers }),
    evidenceBytes: new Gauge({ name: 'vigil_alerts_evidence_bytes', help: 'Bytes of evidence stored (as of the last retention pass)', registers }),
    webhooks: new Counter({ name: 'vigil_alerts_webhook_deliveries_total', help: 'Webhook delivery attempts', labelNames: ['webhook', 'result'], registers }),
    auditWindows: new Counter({ name: 'vigil_alerts_audit_windows_total', help: 'Windows written to the window audit (skipped: windows in the runs), and those left out (expired, future)', labelNames: ['kind', 'result'], registers }),
    writeSeconds: new Histogram({ name: 'vigil_alerts_write_seconds', help: 'Time to fold a finding into the store', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers }),
    clients: new Gauge({ name: 'vigil_alerts_socket_clients', help: 'Connected Socket.IO clients', registers }),
    requests: new Counter({ name: 'vigil_alerts_http_requests_total', help: 'REST requests', labelNames: ['route', 'status'], registers }),
    mqttConnected: new Gauge({ name: 'vigil_alerts_mqtt_connected', help: '1 while connected to the MQTT broker', registers }),
    mqttMessages: new Counter({ name: 'vigil_alerts_mqtt_incident_events_total', help: 'Incident events published on MQTT', labelNames: ['kind'], registers }),
    mqttDropped: new Counter({ name: 'vigil_alerts_mqtt_dropped_total', help: 'MQTT messages dropped while the broker was away (oldest first; states are republished on reconnect)', registers }),
    mqttCommands: new Counter({ name: 'vigil_alerts_mqtt_commands_total', help: 'Commands taken over MQTT', labelNames: ['command'], registers }),
    refused: new Counter({ name: 'vigil_alerts_edge_refused_total', help: 'Requests and upgrades refused at the edge (bad target, host, origin, content type, credentials)', labelNames: ['reason'], registers }),
  };
}

/** Forgets a camera that left the config, so its series leave /metrics. */
export async function removeCameraSeries(m: AlertsMetrics, camera: string): Promise<void> {
  for (const v of (await m.incidents.get()).values) if (v.labels.camera === camera) m.incidents.remove(v.labels);
}
