import { type ControlHandler, ControlServer } from './control-server.js';
import { FactoryError } from './errors.js';
import { type ObservationSources, ObservationServer } from './http-server.js';

export interface Listeners {
  control: ControlServer;
  /** Undefined with `--listen none`. */
  http: ObservationServer | undefined;
}

/**
 * Opens the control socket and the HTTP listener (`HOST:PORT` or `none`) together. If either fails, the one that
 * opened is closed again; when both fail, the control socket's refusal (another factory answers there) is reported.
 */
export async function openListeners(
  socketPath: string,
  handle: ControlHandler,
  listen: string,
  sources: ObservationSources,
): Promise<Listeners> {
  const separator = listen.lastIndexOf(':');
  const [control, http] = await Promise.allSettled([
    ControlServer.listen(socketPath, handle),
    listen === 'none'
      ? undefined
      : ObservationServer.listen(listen.slice(0, separator), Number(listen.slice(separator + 1)), sources),
  ]);
  if (control.status === 'fulfilled' && http.status === 'fulfilled')
    return { control: control.value, http: http.value };
  await Promise.all(
    [control, http].map((opened) => (opened.status === 'fulfilled' ? opened.value?.close() : undefined)),
  );
  if (control.status === 'rejected') throw control.reason;
  const reason = (http as PromiseRejectedResult).reason as Error;
  throw new FactoryError('E_BAD_OPTION', `--listen ${listen}: cannot listen there (${reason.message})`, {
    cause: reason,
  });
}
