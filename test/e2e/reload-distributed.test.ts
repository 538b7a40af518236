import { reloadSuite } from './reload-suite.ts';

// Distributed: ingest, infer and alerts as three processes on Kafka, PostgreSQL, Redis and NATS.
reloadSuite('distributed');
