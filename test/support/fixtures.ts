import { resolve } from 'node:path';

/** Published third-party manifest sets, each with its LICENSE and SOURCE.md (see its README.md). */
export const REAL_WORLD = resolve(import.meta.dirname, '..', 'fixtures', 'real-world');
