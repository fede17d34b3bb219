// The benchmarks `npm run bench` runs, in this order: each name is the npm script bench:<name>.
// This array is the one place to extend when a bench is added (e.g. 'snapshot' once
// bench:snapshot exists). The suite refuses to start when a listed name has no script, or when
// a bench:* script or a bench/*.bench.ts file is not listed, so no bench drops out unnoticed.
export const SUITE: readonly string[] = [
  'netlink',
  'endpoints',
  'journal',
  'launch',
  'boot',
  'sandbox',
  'hotplug',
  'run',
  'libvirt',
  'scale',
];
