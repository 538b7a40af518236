import { readFileSync } from 'node:fs';
import { ConfigError, readYamlDocument, type YamlDocument } from '@vigil/config';

/** Reads a YAML file; unreadable or malformed, a ConfigError saying what the file is ("invalid suite"). */
export function readYamlFile(file: string, what: string): YamlDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '', message: `cannot read file: ${(e as Error).message}` }], what);
  }
  try {
    return readYamlDocument(text, file);
  } catch (e) {
    throw e instanceof ConfigError ? new ConfigError(file, e.issues, what) : e;
  }
}
