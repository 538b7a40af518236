// A process holding one MqttLink, for the last-will test: the parent SIGKILLs it, so the
// connection ends the way a crash ends it (no DISCONNECT, no offline publish).
import { MqttLink } from '@vigil/mqtt';
import { createLogger } from '@vigil/observability';

const link = new MqttLink({
  url: process.env.MQTT_URL!,
  availability: { topic: process.env.MQTT_AVAILABILITY!, qos: 1 },
  log: createLogger('mqtt-child', { level: 'warn' }),
});
link.onConnect(() => {
  process.stdout.write('ready\n');
});
