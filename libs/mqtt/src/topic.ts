/**
 * MQTT topic filters, matched here rather than trusting the broker: a handler must only see
 * the topics it asked for, whatever a (possibly misbehaving) broker delivers.
 */

/** The filter a shared subscription (`$share/<group>/<filter>`) matches topics with. */
export function filterOf(subscription: string): string {
  if (!subscription.startsWith('$share/')) return subscription;
  const slash = subscription.indexOf('/', '$share/'.length);
  return slash < 0 ? '' : subscription.slice(slash + 1);
}

/**
 * Whether `topic` matches `subscription` (`+` one level, `#` the rest, `$share/g/` ignored).
 * As the specification says, a filter starting with a wildcard does not match `$SYS/…`-style
 * topics.
 */
export function topicMatches(subscription: string, topic: string): boolean {
  const filter = filterOf(subscription);
  if (!filter || !topic) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return i === f.length - 1; // `#` only counts as the last level
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A topic a PUBLISH may carry: wildcards or NUL would make the broker drop the connection. */
export function validTopic(topic: string): boolean {
  return topic.length > 0 && Buffer.byteLength(topic) <= 65_535 && !/[+#\0]/.test(topic);
}

/** A filter SUBSCRIBE accepts: `+` and `#` as whole levels, `#` last, `$share/<group>/` well formed. */
export function validFilter(subscription: string): boolean {
  if (subscription.startsWith('$share/')) {
    const group = subscription.slice('$share/'.length).split('/', 1)[0] ?? '';
    if (!group || /[+#]/.test(group)) return false;
  }
  const filter = filterOf(subscription);
  if (!filter || Buffer.byteLength(subscription) > 65_535 || filter.includes('\0')) return false;
  const levels = filter.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}
