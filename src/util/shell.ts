/**
 * Quoting for the commands the studio writes for people to paste (the adapter README, cluster/run.sh
 * and its README): every path and name goes through one of these, so a name with spaces, parentheses,
 * quotes or `$` reaches the command as itself. A leaf module: it imports nothing from src.
 */

/** Characters a POSIX shell word may hold unquoted without any of them meaning something. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * `word` as one word for a POSIX shell (bash, sh, zsh): as it is when every character is plain,
 * else in single quotes, each `'` written as `'\''` (nothing is special inside single quotes).
 */
export function shellQuote(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * `text` as a Python string literal: JSON's string syntax is a subset of Python's (`\"`, `\\`,
 * `\n`, `\uXXXX`), so the literal evaluates to `text` exactly.
 */
export function pythonString(text: string): string {
  return JSON.stringify(text);
}
