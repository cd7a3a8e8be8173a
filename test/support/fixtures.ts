import { resolve } from 'node:path';

/** Published third-party manifest sets, each with its LICENSE and SOURCE.md (see its README.md). */
export const REAL_WORLD = resolve(import.meta.dirname, '..', 'fixtures', 'real-world');

/** Charts: the published podinfo chart (with its LICENSE and SOURCE.md) and small ones of our own. */
export const CHARTS = resolve(import.meta.dirname, '..', 'fixtures', 'charts');
