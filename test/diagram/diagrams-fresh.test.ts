import * as fs from 'fs';
import * as path from 'path';
import { renderDiagrams, REPO_ROOT } from '../../scripts/diagrams';

describe('committed diagrams', () => {
  const expected = [...renderDiagrams()];

  it('cover every machine and the README section', () => {
    expect(expected.map(([file]) => file).sort()).toEqual([
      'README.md',
      'diagrams/connection.mmd',
      'diagrams/echo.mmd',
      'diagrams/reply-deadline.mmd',
      'diagrams/supervisor.mmd',
      'diagrams/topics.mmd',
    ]);
  });

  it.each(expected)('%s matches its machine (run `npm run diagrams` when this fails)', (file, content) => {
    expect(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8')).toBe(content);
  });
});
