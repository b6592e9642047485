/**
 * The one quoting function for SQL identifiers. Every table, column or alias name that is not a
 * literal in our own source goes through it; values never do (they are bound parameters).
 */
export type QuoteStyle = 'double' | 'backtick';

export function quoteIdent(name: string, style: QuoteStyle = 'double'): string {
  if (name.length === 0 || name.length > 255) throw new Error(`invalid SQL identifier length: ${name.length}`);
  if (name.includes('\u0000')) throw new Error('SQL identifier contains a NUL character');
  return style === 'double' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}
