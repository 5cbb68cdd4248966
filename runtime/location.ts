/**
 * Parses a span `location` (trace format, DESIGN §2: `"path:line:col"`, as the build plugins write
 * it), splitting from the right so colons in the path (a Windows drive letter) survive. Undefined
 * for anything that is not `path:line:col`. No imports: the OTel export and browser bundles use it.
 */
export function parseLocation(location: string): { file: string; line: number; column: number } | undefined {
  const m = /^(.+):(\d+):(\d+)$/.exec(location);
  return m ? { file: m[1]!, line: Number(m[2]), column: Number(m[3]) } : undefined;
}
