// Types of tools.mjs, for the TypeScript tests that import it.
export declare const ROOT: string;
export declare const VERSIONS_FILE: string;
export declare const TOOLS_DIR: string;
export declare const PAIRS: readonly ['current', 'floor'];
export type Pair = (typeof PAIRS)[number];

export declare class ToolsUnavailable extends Error {}

/** One pair's programs, ready to run. */
export interface Tools {
  pair: Pair;
  /** "Debian sid", "Debian bookworm" or "PATH". */
  source: string;
  prometheus: string;
  promtool: string;
  /** Debian's prometheus-alertmanager, or upstream's alertmanager from PATH. Start it with alertmanagerCommand. */
  alertmanager: string;
  amtool: string;
  /** Upstream versions, e.g. { prometheus: '3.5.3', alertmanager: '0.33.1' }. */
  versions: { prometheus: string; alertmanager: string };
  /** Debian package versions (empty for PATH). */
  packages: Record<string, string>;
  /** Flags every Prometheus of this pair needs (Debian's: where its web assets are). */
  prometheusFlags: string[];
  /** Debian's: what /usr/share must hold for its Alertmanager (its templates). */
  alertmanagerShare?: string;
}

export interface VersionsFile {
  node: { tested: number[]; images: number };
  pairs: Record<
    Pair,
    { label: string; suite: string; packages: Record<string, { version: string; accept: string }> }
  >;
  images: Record<string, string>;
}

export declare function onPath(name: string): string | undefined;
export declare function readVersions(): VersionsFile;
export declare function selectedPair(env?: NodeJS.ProcessEnv): Pair;
export declare function toolStatus(pair: Pair): { tools?: Tools; missing?: string; unavailable?: string };
export declare function requireTools(pair: Pair): Tools;
export declare function installTools(pair: Pair, options?: { log?: (line: string) => void }): Tools;
export declare function alertmanagerCommand(
  tools: Tools,
  args: string[],
): { command: string; args: string[] };
