// Checks a program's config as it will run in a container, on the host: the paths it names inside the
// container (mounted config, runbooks, secrets) are mapped to the host files that will be mounted
// there, so the program's own config parser can check them.

export interface Mount {
  /** Path inside the container. */
  container: string;
  /** What is mounted there, on the host. */
  host: string;
}

/**
 * A copy of `value` in which every string that is a container path under a mount (or the mount
 * itself) points at the host instead; the longest matching mount wins. Other values are unchanged.
 */
export function remapPaths<T>(value: T, mounts: Mount[]): T {
  const sorted = [...mounts].sort((a, b) => b.container.length - a.container.length);
  const map = (text: string): string => {
    for (const { container, host } of sorted) {
      const base = container.replace(/\/$/, '');
      if (text === base) return host;
      if (text.startsWith(`${base}/`)) return `${host.replace(/\/$/, '')}${text.slice(base.length)}`;
    }
    return text;
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return map(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node && typeof node === 'object')
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(value) as T;
}

/** Container paths in `value` (strings starting with "/") that no mount covers. */
export function unmountedPaths(value: unknown, mounts: Mount[]): string[] {
  const out: string[] = [];
  const covered = (p: string) =>
    mounts.some(({ container }) => p === container || p.startsWith(`${container.replace(/\/$/, '')}/`));
  const walk = (node: unknown): void => {
    if (typeof node === 'string') {
      if (node.startsWith('/') && !covered(node)) out.push(node);
    } else if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(value);
  return out;
}
