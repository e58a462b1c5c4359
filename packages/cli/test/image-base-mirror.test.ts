/** The image test's base comes from the Debian mirror this machine's apt uses: reading it from apt's sources. */
import t from 'tap';
import { debianMirror } from './helpers/image-base.js';

t.test('a one-line sources.list', async (t) => {
  t.equal(debianMirror('# comment\ndeb http://mirror.example/debian bookworm main\n'), 'http://mirror.example/debian');
  t.equal(debianMirror('deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main contrib\n'), 'http://m.example/debian', 'with options');
});

t.test('deb822 .sources: the stanza whose suites hold bookworm', async (t) => {
  const text = [
    'Types: deb',
    'URIs: http://security.example/debian-security',
    'Suites: bookworm-security',
    'Components: main',
    '',
    'Types: deb',
    'URIs: http://deb.example/debian',
    'Suites: bookworm bookworm-updates',
    'Components: main',
  ].join('\n');
  t.equal(debianMirror(text), 'http://deb.example/debian');
});

t.test('no bookworm source: undefined', async (t) => {
  t.equal(debianMirror('deb http://m.example/ubuntu jammy main\n'), undefined);
  t.equal(debianMirror('Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n'), undefined);
});
