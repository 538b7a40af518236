import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Calls `onChange` when the content of `file` changes. Watches the folder, not the file:
 * editors and Kubernetes ConfigMaps replace the file (rename, symlink swap) instead of
 * writing it in place, which a watch on the file itself would miss. Events are debounced
 * and compared by content hash, so one save triggers one call.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 300): () => void {
  const path = resolve(file);
  const digest = () => {
    try {
      return createHash('sha256').update(readFileSync(path)).digest('hex');
    } catch {
      return 'missing';
    }
  };
  let last = digest();
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    const now = digest();
    if (now === last || now === 'missing') return;
    last = now;
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(path), (_event, name) => {
    // ConfigMaps swap a `..data` symlink; any change in the folder may be ours.
    if (name && name !== basename(path) && !name.startsWith('..')) return;
    clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
  });
  watcher.on('error', () => undefined);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
