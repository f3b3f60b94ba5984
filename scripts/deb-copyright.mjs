// Writes the Debian copyright file (machine-readable format) of the .deb to stdout: docker-cernvm's own licence,
// then one paragraph per bundled npm package, with the licence its package.json declares and where its text is.
//   node scripts/deb-copyright.mjs STAGED_NODE_MODULES INSTALLED_NODE_MODULES
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const [staged, installed] = process.argv.slice(2);
if (!staged || !installed) {
  process.stderr.write('usage: node scripts/deb-copyright.mjs STAGED_NODE_MODULES INSTALLED_NODE_MODULES\n');
  process.exit(2);
}

/** Every package directory under a node_modules, scoped ones and nested node_modules included. */
function packages(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('@')) found.push(...packages(full));
    else if (existsSync(path.join(full, 'package.json'))) {
      found.push(full);
      if (existsSync(path.join(full, 'node_modules'))) found.push(...packages(path.join(full, 'node_modules')));
    }
  }
  return found;
}

const out = [
  'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
  'Upstream-Name: docker-cernvm',
  '',
  'Files: *',
  'Copyright: the docker-cernvm authors',
  'License: Apache-2.0',
];
const licenses = new Set(['Apache-2.0']);
for (const dir of packages(staged).sort()) {
  const meta = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  if (meta.name?.startsWith('@docker-cernvm/')) continue;
  const relative = path.relative(staged, dir);
  const text = readdirSync(dir).find((name) => /^(licen[cs]e|copying)/i.test(name));
  const license = typeof meta.license === 'string' ? meta.license : (meta.license?.type ?? 'UNKNOWN');
  const copyrightLine = text
    ? readFileSync(path.join(dir, text), 'utf8')
        .split('\n')
        .find((line) => /^\s*copyright\b.*\d{4}/i.test(line))
    : undefined;
  licenses.add(license);
  out.push(
    '',
    `Files: ${installed.replace(/^\//, '')}/${relative}/*`,
    `Copyright: ${copyrightLine?.trim().replace(/^copyright\s*/i, '') || `the authors of ${meta.name}`}`,
    `License: ${license}`,
    ...(text ? [` The full text is in /${installed.replace(/^\//, '')}/${relative}/${text}.`] : []),
  );
}
for (const license of [...licenses].sort()) {
  out.push('', `License: ${license}`);
  if (license === 'Apache-2.0')
    out.push(
      ' On Debian systems, the full text of the Apache License, Version 2.0 is in',
      ' /usr/share/common-licenses/Apache-2.0.',
    );
  else out.push(' The full text is in each package directory named above with this licence.');
}
process.stdout.write(`${out.join('\n')}\n`);
