// Types of pipeline.mjs, for the TypeScript tests that import it.
export declare const ROOT: string;
export declare const AGENT_MAIN: string;
export declare const RULES_MAIN: string;
export declare const RECEIVER_MAIN: string;
export declare const RUNBOOKS_DIR: string;
export declare const SAMPLE_LICENCE: string;

export declare function freePort(): Promise<number>;
export declare function portOr(preferred: number): Promise<number>;
export declare function writeFileAtomic(path: string, text: string): void;
export declare function licenceKeyYaml(options: {
  expiry: Date | number;
  maxNodes?: number;
  maxCores?: number;
}): string;

export interface AlertmanagerFragment {
  route: Record<string, unknown>;
  receivers: Record<string, unknown>[];
  inhibit_rules?: Record<string, unknown>[];
}

export declare function renderRules(
  dir: string,
  overrides: Record<string, unknown>,
): { rulesFile: string; fragmentFile: string; fragment: AlertmanagerFragment };

export declare function prometheusConfig(options: {
  interval?: string;
  agent: string;
  clusterLabels?: Record<string, string>;
  alertmanagers: string[];
  ruleFiles: string[];
  extraJobs?: { job: string; target: string }[];
}): string;

export declare function alertmanagerConfig(fragment: AlertmanagerFragment): string;

export declare function prometheusArgs(options: {
  config: string;
  port: number;
  dataDir: string;
  tools?: { prometheusFlags: string[] };
}): string[];

export declare function alertmanagerArgs(options: {
  config: string;
  port: number;
  dataDir: string;
  cluster?: { port: number; peers: string[]; flags?: string[] };
}): string[];

export declare function waitForHttp(
  url: string,
  options?: { timeoutMs?: number; alive?: () => boolean },
): Promise<void>;
