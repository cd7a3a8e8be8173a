import { parseInventory } from './inventory.ts';

/**
 * Which AppGroups' inventories list an object id, kept from the AppGroup informer's events: the
 * ownership check asks it before a group writes an object another group tracks. Malformed entries
 * are skipped. No I/O.
 */
export class InventoryIndex {
  /** id -> the groups (`namespace/name`) listing it; almost always one, so a string until it is two. */
  readonly #byId = new Map<string, string | string[]>();
  readonly #byGroup = new Map<string, readonly string[]>();

  /** Records `groupKey`'s current inventory (as read from the API: anything), replacing the last one. */
  set(groupKey: string, inventory: unknown): void {
    this.delete(groupKey);
    const ids = parseInventory(inventory).entries.map((e) => e.entry.id);
    if (ids.length === 0) return;
    this.#byGroup.set(groupKey, ids);
    for (const id of ids) {
      const held = this.#byId.get(id);
      if (held === undefined) this.#byId.set(id, groupKey);
      else if (typeof held === 'string') {
        if (held !== groupKey) this.#byId.set(id, [held, groupKey]);
      } else if (!held.includes(groupKey)) held.push(groupKey);
    }
  }

  delete(groupKey: string): void {
    for (const id of this.#byGroup.get(groupKey) ?? []) {
      const held = this.#byId.get(id);
      if (held === groupKey) this.#byId.delete(id);
      else if (Array.isArray(held)) {
        const rest = held.filter((k) => k !== groupKey);
        if (rest.length === 1) this.#byId.set(id, rest[0] as string);
        else this.#byId.set(id, rest);
      }
    }
    this.#byGroup.delete(groupKey);
  }

  /** The groups whose inventory lists `id`. */
  claims(id: string): readonly string[] {
    const held = this.#byId.get(id);
    return held === undefined ? [] : typeof held === 'string' ? [held] : held;
  }
}
