/** The metadata predicates look at. */
export interface PredicateMeta {
  metadata: {
    generation?: number;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
}

/** Decides from an object's previous and current version (undefined: just created) whether to act. */
export type Predicate<T> = (previous: T | undefined, current: T) => boolean;

/** True for a new object (controller-runtime's create event). */
export const created = <T>(previous: T | undefined): boolean => previous === undefined;

/**
 * The spec changed. Caveats: status-only writes never count (they leave the generation), and
 * neither do label or annotation changes (see annotationChanged).
 */
export const generationChanged = <T extends PredicateMeta>(previous: T | undefined, current: T): boolean =>
  previous !== undefined && previous.metadata.generation !== current.metadata.generation;

/** The value of one annotation changed (for example a manual trigger). */
export const annotationChanged =
  <T extends PredicateMeta>(key: string): Predicate<T> =>
  (previous, current) =>
    previous !== undefined && previous.metadata.annotations?.[key] !== current.metadata.annotations?.[key];

/** The object just got its deletionTimestamp (finalizers now run). */
export const deletionStarted = <T extends PredicateMeta>(previous: T | undefined, current: T): boolean =>
  current.metadata.deletionTimestamp !== undefined && previous?.metadata.deletionTimestamp === undefined;

/** True when any of `predicates` is. */
export const anyOf =
  <T>(...predicates: Predicate<T>[]): Predicate<T> =>
  (previous, current) =>
    predicates.some((p) => p(previous, current));
