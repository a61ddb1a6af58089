/**
 * `--print-missing` output of `orly sync` (strfry's format), the same in direct and client
 * mode: one `have,<id>` line per id we have and the peer lacks, then one `need,<id>` line per
 * id the peer has and we lack.
 */
export function missingLines(have: readonly string[], need: readonly string[]): string {
  let text = '';
  for (const id of have) text += `have,${id}\n`;
  for (const id of need) text += `need,${id}\n`;
  return text;
}
