// A licence source feeds the snapshot until stopped.
export interface Source {
  start(): void;
  stop(): Promise<void>;
}
