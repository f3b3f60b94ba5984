import type { CliIo } from './cli/context.js';
import type { Factory } from './factory.js';
import { type Logger, shortId } from './logger.js';
import { isProblemExit } from './slot-observer.js';

/** One log line per factory event; while filling, progress as `slots 12/16 running` on a terminal. */
export function wireLogs(factory: Factory, logger: Logger, io: CliIo, format: string): void {
  let filling = true;
  let lastServing = -1;
  factory.events.on('reconciled', ({ summary }) => {
    if (filling && summary.serving !== lastServing) {
      lastServing = summary.serving;
      if (io.isTerminal && format === 'human') io.stderr(`slots ${summary.serving}/${summary.desired} running\n`);
      else logger.log('info', 'progress', { running: summary.serving, desired: summary.desired });
    }
    if (summary.serving >= summary.desired) filling = false;
  });
  factory.events.on('slot-created', ({ slot, id, durationMs }) =>
    logger.log('info', 'slot-started', { slot, id: shortId(id), ms: durationMs }),
  );
  factory.events.on('slot-draining', ({ slot, id, reason, deadline }) =>
    logger.log('info', 'slot-draining', {
      slot,
      id: shortId(id),
      reason,
      ...(deadline === undefined ? {} : { deadline: new Date(deadline).toISOString() }),
    }),
  );
  factory.events.on('slot-stopping', ({ slot, id }) => logger.log('info', 'slot-stopping', { slot, id: shortId(id) }));
  factory.events.on('slot-exited', ({ slot, id, exitCode, reason, ranForMs, retryInMs }) =>
    logger.log(isProblemExit(reason) ? 'warn' : 'info', 'slot-exited', {
      slot,
      id: shortId(id),
      code: exitCode,
      reason,
      ran_s: ranForMs === undefined ? undefined : Math.round(ranForMs / 100) / 10,
      retry_in_s: retryInMs === undefined ? undefined : Math.round(retryInMs / 100) / 10,
    }),
  );
  factory.events.on('slot-removed', ({ slot, id, reason }) =>
    logger.log('debug', 'slot-removed', { slot, id: shortId(id), reason }),
  );
  factory.events.on('action-failed', ({ action, error }) =>
    logger.log('error', 'action-failed', {
      action: action.kind,
      slot: action.slot,
      error: error.message.split('\n')[0],
    }),
  );
  factory.events.on('events-disconnected', (reason) => logger.log('warn', 'events-disconnected', { reason }));
  factory.events.on('events-connected', () => logger.log('debug', 'events-connected', {}));
  factory.events.on('drained', () => logger.log('info', 'factory-drained', {}));
  factory.events.on('error', (error) =>
    logger.log('error', 'reconcile-failed', { error: error.message.split('\n')[0] }),
  );
}
