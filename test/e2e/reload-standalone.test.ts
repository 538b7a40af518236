import { reloadSuite } from './reload-suite.ts';

// Standalone: one `vigil run` process on embedded parts follows its YAML file.
reloadSuite('standalone');
