// The CLI's one reader of QEMU's list syntax, shared by --net and --drive specs: elements end
// at a single ',' and ',,' is a literal comma, so a path may carry commas written twice — what
// the options formatter (launcher/opts.ts escapeOptValue) writes and QEMU itself reads.

// Splits on single commas; ",," is a literal comma (QEMU's option syntax).
export function splitQemuList(spec: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c !== ',') {
      current += c;
    } else if (spec[i + 1] === ',') {
      current += ',';
      i++;
    } else {
      parts.push(current);
      current = '';
    }
  }
  parts.push(current);
  return parts;
}
