/**
 * Orders strings by UTF-16 code unit, as `Array.prototype.sort()` does. Not `localeCompare`: its first call
 * initializes ICU's collator, 6–9 ms of every load of a dbt project (`fairway list` included), and these are
 * file names and asset keys, whose order needs to be stable, not linguistic.
 */
export const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
