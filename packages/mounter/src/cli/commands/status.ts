import type { CommandModule } from 'yargs';
import { describeUsers } from '../../bind-rules.js';
import type { BoundSource, RootUse, StatusReport } from '../../mounter.js';
import { type CliContext, type GlobalArgs, mounterFor, printJson } from '../context.js';

const DISCONNECTED = 'SOURCE DISCONNECTED: Transport endpoint is not connected, its FUSE client has died';

function describeBound(bound: BoundSource | undefined): string {
  if (!bound) return 'nothing (the placeholder is empty)';
  const flags = [
    bound.readOnly ? 'read-only' : 'WRITABLE',
    ...(bound.deleted ? ['source deleted'] : []),
    ...(bound.disconnected ? [DISCONNECTED] : []),
  ];
  return `${bound.source ?? '(source not visible here)'} (${flags.join(', ')})`;
}

/** Which image store the engine uses, and where its layers are. */
export function describeStorage(storage: StatusReport['storage']): string {
  if (storage.store === 'rootfs') return 'podman: slots run from CernVM roots themselves (rootfs), no placeholders';
  if (storage.store === 'graphdriver') return `${storage.driver} in ${storage.dockerRootDir}`;
  return (
    `containerd image store (snapshotter ${storage.driver}, namespace ${storage.namespace}) through ` +
    `${storage.containerdAddress ?? 'no containerd socket'}` +
    (storage.engineRoot === '/' ? '' : `; engine root ${storage.engineRoot}`)
  );
}

function formatRoot(root: RootUse): string[] {
  return [
    '',
    `root ${root.rootDir}`,
    ...(root.disconnected ? [`  ${DISCONNECTED}`] : []),
    `  version     ${root.version ?? '-'}`,
    `  containers  ${describeUsers(root.containers)}`,
  ];
}

export function formatStatus(report: StatusReport): string {
  const lines = [`storage: ${describeStorage(report.storage)}`];
  if (report.storage.store === 'rootfs') {
    if (report.roots.length === 0) lines.push('no container runs from a CernVM root (the factory starts them)');
    lines.push(...report.roots.flatMap(formatRoot));
  } else if (report.placeholders.length === 0) {
    lines.push('no placeholder images (docker-cernvm register or mount makes one)');
  }
  for (const p of report.placeholders) {
    lines.push(
      '',
      `${p.tags.join(', ') || '<untagged>'} (${p.imageId.replace('sha256:', '').slice(0, 12)})`,
      `  repository  ${p.pair.repository}`,
      `  snapshot    ${p.pair.snapshot ?? '(current)'}`,
      `  layer       ${p.layerDir}`,
      `  bound       ${describeBound(p.bound)}`,
      `  version     ${p.version ?? '-'}`,
      `  containers  ${p.containers.length ? describeUsers(p.containers) : 'none'}`,
    );
  }
  for (const orphan of report.orphanBinds) {
    lines.push('', `bound layer without an image: ${orphan.layerDir}`, `  bound       ${describeBound(orphan)}`);
  }
  if (report.repositories.length) lines.push('', 'repository mounts:');
  for (const r of report.repositories) {
    lines.push(`  ${r.mountPoint}  ${r.repository}${r.snapshot ? ` @ ${r.snapshot}` : ''} (${r.fsType})`);
  }
  return `${lines.join('\n')}\n`;
}

export function statusCommand(context: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'status',
    describe: 'Show placeholder images, what is bound over each, and the containers using them',
    handler: async (argv) => {
      const report = await mounterFor(context, argv).status();
      if (argv.json) return printJson(context.io, report);
      context.io.stdout(formatStatus(report));
    },
  };
}
