import type { KeyList } from '../definitions/index.ts';

/**
 * What identifies a known partition list: set by whoever listed it (from a definition and its resolved
 * inputs), so a comparison of the list with the store can be kept and recognised in a later process without
 * reading the list's million keys again. Lists nobody identified are compared every time.
 */
const identities = new WeakMap<KeyList, string>();

/** `identity` must change whenever the list's keys or their order could. */
export function identifyKnownList(list: KeyList, identity: string): void {
  identities.set(list, identity);
}

export function knownListIdentity(list: KeyList): string | undefined {
  return identities.get(list);
}
