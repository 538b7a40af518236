import { pipelineSuite } from './pipeline-suite.ts';

// Distributed mode: real Kafka and PostgreSQL.
pipelineSuite('distributed');
