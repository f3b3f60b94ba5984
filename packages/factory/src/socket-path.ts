/** Where a factory's control socket is unless told otherwise: one per factory name, in a root-only directory. */
export const DEFAULT_SOCKET_DIR = '/run/docker-cernvm-factory';

export function socketPathOf(name: string, socket?: string): string {
  return socket ?? `${DEFAULT_SOCKET_DIR}/${name}.sock`;
}
