// Types of scripts/host-state.mjs, for its unit test (test/host/host-state.test.ts).
export type HostStateKind = 'link' | 'mount' | 'container' | 'image';
export type HostState = Record<HostStateKind, string[]>;
export interface AllowedLeftover {
  kind: HostStateKind;
  pattern: string;
  regex: RegExp;
}
export declare const ALLOWED_FILE: string;
export declare function parseLinks(ipOutput: string): string[];
export declare function parseMounts(mountinfo: string): string[];
export declare function parseAllowed(text: string): AllowedLeftover[];
export declare function compareHostStates(
  before: Partial<HostState>,
  after: Partial<HostState>,
  allowed?: readonly AllowedLeftover[],
): string[];
export declare function recordHostState(): HostState;
