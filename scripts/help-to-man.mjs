// Writes a section-1 man page for one of our commands, made from its own --help and each subcommand's, to stdout:
//   node scripts/help-to-man.mjs BIN.js NAME VERSION DATE
// The help is yargs' layout (a usage line, a summary, then "Commands:", "Options:"… sections of two-column entries);
// entries become .TP paragraphs so man reflows them to the reader's terminal.
import { execFileSync } from 'node:child_process';

const [bin, name, version, date] = process.argv.slice(2);
if (!bin || !name || !version || !date) {
  process.stderr.write('usage: node scripts/help-to-man.mjs BIN.js NAME VERSION DATE\n');
  process.exit(2);
}

const help = (args) => execFileSync(process.execPath, [bin, ...args, '--help'], { encoding: 'utf8' });

/** Text for roff: backslashes and minus signs escaped, no line starting with a control character. */
const roff = (text) =>
  text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1');

/** The help's blocks: the lines before the first section, then each "Title:" with its entries. */
function parseHelp(text) {
  const lines = text.replace(/\s+$/, '').split('\n');
  const prose = [];
  const sections = [];
  for (const line of lines) {
    const title = /^(\S[^:]*):$/.exec(line);
    if (title) sections.push({ title: title[1], lines: [] });
    else if (sections.length) sections.at(-1).lines.push(line);
    else prose.push(line);
  }
  return { prose, sections: sections.map((s) => ({ title: s.title, entries: parseEntries(s.lines) })) };
}

/** Two-column entries: a term indented by two spaces, its description after a run of spaces, then wrapped lines. */
function parseEntries(lines) {
  const entries = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    const start = /^ {2}(\S.*?)(?: {2,}(\S.*))?$/.exec(line);
    if (start && entries.length && line.startsWith('   ')) entries.at(-1).text.push(line.trim());
    else if (start) entries.push({ term: start[1], text: start[2] ? [start[2]] : [] });
    else if (entries.length) entries.at(-1).text.push(line.trim());
  }
  return entries;
}

function section(out, { title, entries }) {
  for (const { term, text } of entries)
    out.push('.TP', `.B ${roff(term)}`, roff(text.join(' ').replace(/\s{2,}/g, ' ') || ' '));
  return title;
}

const main = parseHelp(help([]));
const [usage, ...rest] = main.prose.filter((line) => line.trim());
const summary = rest.join(' ');
const out = [
  `.TH ${name.toUpperCase().replace(/-/g, '\\-')} 1 "${date}" "${name} ${version}" "User Commands"`,
  '.SH NAME',
  `${roff(name)} \\- ${roff(summary.replace(/\.$/, ''))}`,
  '.SH SYNOPSIS',
  `.B ${roff(usage.trim())}`,
  '.SH DESCRIPTION',
  roff(summary),
];
const subcommands = [];
for (const block of main.sections) {
  out.push(`.SH ${roff(block.title.toUpperCase())}`);
  section(out, block);
  if (block.title === 'Commands') for (const { term } of block.entries) subcommands.push(term.split(/\s+/)[1]);
}
for (const command of subcommands) {
  const sub = parseHelp(help([command]));
  const [subUsage, ...subRest] = sub.prose.filter((line) => line.trim());
  out.push(`.SH "${roff(`${name} ${command}`.toUpperCase())}"`, `.B ${roff(subUsage.trim())}`);
  if (subRest.length) out.push('.PP', roff(subRest.join(' ')));
  for (const block of sub.sections) {
    out.push(`.SS ${roff(block.title)}`);
    section(out, block);
  }
}
out.push('.SH SEE ALSO', '/usr/share/doc/docker-cernvm/, the operator guide of docker-cernvm.');
process.stdout.write(`${out.join('\n')}\n`);
