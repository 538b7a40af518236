/**
 * Node/V8 flags every Vigil service process runs with. They cannot go in NODE_OPTIONS (Node
 * refuses them there), so each launcher carries them: bin/vigil.js's shebang, the Dockerfile's
 * ENTRYPOINT, scripts/start.sh and the benches' children. test/unit/node-flags.test.ts keeps
 * those in step with this list.
 *
 * --initial-old-space-size: a service's live JS heap is small (~30 MB) while media bytes stream
 * through it. V8 then keeps the old generation's limit so near the live size that it marks and
 * compacts two or three times a second (the quiet bench, 16 on_demand cameras: 65 full
 * collections in ~50 s, started by V8's own task, not by a full heap). A 128 MB floor spaces
 * them ~5 s apart: Node's CPU there 3.6 → 1.6 cpu-s in 20 s. The heap grows only as far as it
 * is used, up to ~128 MB more resident memory at worst.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
