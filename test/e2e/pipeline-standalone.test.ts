import { pipelineSuite } from './pipeline-suite.ts';

// Standalone mode: in-process bus, embedded PGlite in a data folder — same assertions.
pipelineSuite('standalone');
