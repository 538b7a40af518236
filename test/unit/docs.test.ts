// Every relative link in the Markdown docs names a file in this repository (and every
// `#anchor` a heading of the file it points into), so docs cannot point at what is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DOCS = ['README.md', 'k8s/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/**
 * Inline links and images, `[text](target "title")`, outside code spans and fences; and code
 * spans that are a path up from the file (`../x`), which read as references too (`./data`
 * and the like name what a run creates).
 */
function links(markdown: string): string[] {
  const text = markdown.replace(/^```[\s\S]*?^```/gm, '');
  const spans = [...text.matchAll(/`(\.\.\/[^`\s]+)`/g)].map((m) => m[1]!);
  const prose = text.replace(/`[^`\n]*`/g, '');
  return [...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!), ...spans];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    out.add(m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return out;
}

/** The links of `doc` (its text given) that do not resolve, each with why. */
function brokenLinks(doc: string, text: string): string[] {
  const broken: string[] = [];
  for (const target of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
    const [path, anchor] = target.split('#') as [string, string | undefined];
    const file = path ? join(ROOT, dirname(doc), decodeURIComponent(path)) : join(ROOT, doc);
    // A path out of the checkout may exist on this machine, but not for a reader of the repository.
    if (relative(ROOT, file).startsWith('..') || !existsSync(file)) broken.push(`${target}: no such file in the repository`);
    else if (anchor && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${target}: no heading #${anchor}`);
  }
  return broken;
}

for (const doc of DOCS) {
  test(`${doc}: relative links resolve to files in the repository`, () => {
    assert.deepEqual(brokenLinks(doc, readFileSync(join(ROOT, doc), 'utf8')), []);
  });
}

test("README's Tests section names every folder and file under test/, and only paths that exist", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Tests');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const named = [...section.matchAll(/`(test\/[^`*\s]*)`/g)].map((m) => m[1]!.replace(/\/$/, ''));
  assert.deepEqual(named.filter((p) => !existsSync(join(ROOT, p))), [], 'named but not there');
  const entries = readdirSync(join(ROOT, 'test')).map((e) => `test/${e}`);
  assert.deepEqual(entries.filter((e) => !named.some((p) => p === e || p.startsWith(`${e}/`))), [], 'there but not named');
});

test('the link checker sees links outside code, and refuses missing files, paths out of the repository and unknown headings', () => {
  assert.deepEqual(links('[a](x.md) `[b](y.md)` ![c](img/d.png "t") `../w.md`\n```\n[e](z.md)\n```\n'), ['x.md', 'img/d.png', '../w.md']);
  assert.ok(anchors('## The `vigil` command\n').has('the-vigil-command'));
  const text = '[ok](../compose.yaml) [up](../../shared/docs/style.md) [gone](nope.md) [here](#tokens) [there](security.md#no-such-heading)';
  assert.deepEqual(brokenLinks('docs/deployment.md', text), [
    '../../shared/docs/style.md: no such file in the repository',
    'nope.md: no such file in the repository',
    '#tokens: no heading #tokens',
    'security.md#no-such-heading: no heading #no-such-heading',
  ]);
});
