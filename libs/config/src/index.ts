export * from './types.ts';
export * from './errors.ts';
export * from './duration.ts';
export { loadConfig, parseConfig, MAX_FRAMES_PER_WINDOW, TEMPLATE_FIELDS, templatePlaceholders } from './load.ts';
export { configJsonSchema, ModelProfiles } from './schema.ts';
export * from './inference.ts';
export { configSecrets, SECRET_KEYS } from './secrets.ts';
export { sourceUrl } from './camera-url.ts';
export { queryVersion } from './query-version.ts';
