/**
 * Numbers written as text, read the same way wherever abtel takes one from a user.
 */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Whether `text` is a decimal number (`25`, `-1.5`, `.5`, `2e3`): `Number()` would also take
 * `0x10` or `0b11`.
 * @example
 * isDecimal('-0.05'); // true
 * isDecimal('0x10'); // false
 */
export function isDecimal(text: string): boolean {
  return DECIMAL.test(text);
}
