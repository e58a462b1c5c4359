/** The `minimesh` bin: its shebang carries the proxy's node flags; it runs and dispatches. */
import t from 'tap';
import { readFileSync, accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PROXY_NODE_FLAGS } from '@minimesh/mesh';

const bin = fileURLToPath(new URL('../../bin/minimesh.js', import.meta.url));

t.test('the shebang passes PROXY_NODE_FLAGS to node', async (t) => {
  const first = readFileSync(bin, 'utf8').split('\n')[0];
  t.equal(first, `#!/usr/bin/env -S node ${PROXY_NODE_FLAGS.join(' ')}`);
  t.doesNotThrow(() => accessSync(bin, constants.X_OK), 'the bin is executable');
});

t.test('run directly, the bin prints its commands and the flags are in effect', async (t) => {
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
  t.match(help, /Usage: minimesh <command>/);
  t.match(help, /proxy/);
  const err = (() => {
    try {
      execFileSync(bin, ['no-such-command'], { encoding: 'utf8', stdio: 'pipe' });
      return '';
    } catch (e) {
      return String((e as { stderr: string }).stderr);
    }
  })();
  t.match(err, /unknown command "no-such-command"/, 'unknown commands are named');
});
