/**
 * Regenerates the state diagrams of the project's machines.
 *
 * For every machine in {@link MACHINES} it writes `diagrams/<name>.mmd` (raw
 * Mermaid) and, when README.md contains the markers
 * `<!-- diagrams:start -->` and `<!-- diagrams:end -->`, replaces what lies
 * between them with a `### <name>` heading and a ```mermaid block per machine.
 *
 * Run: `npx ts-node --transpile-only scripts/diagrams.ts` (or `npm run diagrams`).
 * A test compares the committed files with {@link renderDiagrams}.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { AnyStateMachine } from 'xstate';
import { toMermaid } from '../src/diagram/mermaid';
import { supervisorMachine } from '../machines/supervisor.machine';
import { connectionMachine } from '../machines/connection.machine';
import { echoMachine } from '../machines/protocols/echo.machine';
import { topicsMachine } from '../machines/protocols/topics.machine';
import { replyDeadlineMachine } from '../machines/protocols/reply-deadline.machine';

/** The machines to draw, in README order: adding one is one line. */
export const MACHINES: ReadonlyArray<{ name: string; machine: AnyStateMachine }> = [
  { name: 'supervisor', machine: supervisorMachine },
  { name: 'connection', machine: connectionMachine },
  { name: 'echo', machine: echoMachine },
  { name: 'topics', machine: topicsMachine },
  { name: 'reply-deadline', machine: replyDeadlineMachine },
];

export const REPO_ROOT = path.resolve(__dirname, '..');
export const START_MARKER = '<!-- diagrams:start -->';
export const END_MARKER = '<!-- diagrams:end -->';

/**
 * Computes every generated file: path relative to the repository root (with
 * `/` separators) → expected content. README.md is included only when it
 * exists and holds both markers, start before end.
 */
export function renderDiagrams(): Map<string, string> {
  const files = new Map<string, string>();
  const sections: string[] = [];
  for (const { name, machine } of MACHINES) {
    const mermaid = toMermaid(machine);
    files.set(`diagrams/${name}.mmd`, mermaid);
    sections.push(`### ${name}\n\n\`\`\`mermaid\n${mermaid}\`\`\`\n`);
  }
  const readmePath = path.join(REPO_ROOT, 'README.md');
  if (fs.existsSync(readmePath)) {
    const readme = fs.readFileSync(readmePath, 'utf8');
    const start = readme.indexOf(START_MARKER);
    const end = readme.indexOf(END_MARKER, start + START_MARKER.length);
    if (start !== -1 && end !== -1) {
      const before = readme.slice(0, start + START_MARKER.length);
      files.set('README.md', `${before}\n\n${sections.join('\n')}\n${readme.slice(end)}`);
    }
  }
  return files;
}

if (require.main === module) {
  for (const [file, content] of renderDiagrams()) {
    const target = path.join(REPO_ROOT, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const unchanged = fs.existsSync(target) && fs.readFileSync(target, 'utf8') === content;
    if (!unchanged) fs.writeFileSync(target, content);
    console.log(`${unchanged ? 'unchanged' : 'wrote'} ${file}`);
  }
}
