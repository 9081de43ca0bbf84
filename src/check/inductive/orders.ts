/**
 * Orders of small sets, for the queues of an enumerated universe (CHK-IND-1..2).
 *
 * @module
 */

/** Every ordered selection of distinct items — the empty one first, then by length; for 3 items, 16. */
export function orderedSubsets<T>(items: readonly T[]): T[][] {
  const out: T[][] = [[]];
  const extend = (prefix: readonly T[], rest: readonly T[], length: number): void => {
    if (prefix.length === length) {
      out.push(prefix.slice());
      return;
    }
    rest.forEach((x, i) => extend([...prefix, x], [...rest.slice(0, i), ...rest.slice(i + 1)], length));
  };
  for (let length = 1; length <= items.length; length++) extend([], items, length);
  return out;
}

/** A queue's label: its items in order, `-` when empty. */
export function queueLabel(items: readonly string[]): string {
  return items.length === 0 ? '-' : items.join('');
}
