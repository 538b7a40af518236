#!/usr/bin/env -S node --initial-old-space-size=128
// Entry point for `npx vigil`: registers tsx so the TypeScript sources run as they are.
// The shebang's flags are SERVICE_NODE_FLAGS (libs/platform/src/node-flags.ts says why).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
