export { MqttLink, type MqttLinkOptions, type MessageHandler, type PublishOptions, type QoS } from './link.ts';
export { topicMatches, filterOf, validTopic, validFilter } from './topic.ts';
export { reconnectDelayMs, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from './backoff.ts';
