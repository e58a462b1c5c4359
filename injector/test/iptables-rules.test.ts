import t from 'tap';
import { parseIptablesArgs, type IptablesCommand } from '../src/iptables/capture-options.js';
import { buildCleanupRules, buildNatRules, restoreText } from '../src/iptables/capture-rules.js';
import { applyRules, cleanupRules } from '../src/iptables/apply-rules.js';
import type { CommandRunner } from '../src/iptables/iptables-runner.js';
import { golden, staleGoldens } from './helpers/golden.js';

const ISTIO_DEFAULT = ['-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020'];

/** Each case: the flags of the init container, and the golden file of the rules they give. */
const CASES: Record<string, string[]> = {
  'defaults.txt': [],
  'istio-pod-spec.txt': ISTIO_DEFAULT,
  'include-cidrs.txt': [...ISTIO_DEFAULT.slice(0, 8), '-i', '10.96.0.0/12,10.244.0.0/16', '-x', ''],
  'exclude-cidrs.txt': [...ISTIO_DEFAULT.slice(0, 10), '-x', '169.254.169.254/32,10.0.0.1'],
  'exclude-outbound-ports.txt': [...ISTIO_DEFAULT, '-o', '3306,6379'],
  'include-outbound-ports.txt': [...ISTIO_DEFAULT.slice(0, 10), '-x', '169.254.169.254/32', '-i', '', '-q', '80,443'],
  'inbound-ports-list.txt': [...ISTIO_DEFAULT.slice(0, 12), '-b', '8080,9090'],
  'inbound-none.txt': ['-b', ''],
  'exclude-interfaces.txt': [...ISTIO_DEFAULT, '-c', 'eth1,tun0'],
  'other-uid-gid.txt': ['-u', '1000', '-g', '2000', '-p', '16001', '-z', '16006'],
  'ipv6.txt': ['--ipv6', '-x', 'fd00::/8,10.0.0.0/8'],
};

function parse(argv: string[]): IptablesCommand {
  const c = parseIptablesArgs(argv);
  if (c === 'help') throw new Error('help');
  return c;
}

t.test('rules match the goldens', async (t) => {
  for (const [name, argv] of Object.entries(CASES)) {
    // --ipv6 is refused by the parser (not supported yet); the ip6tables rules are still built.
    const v6 = argv.includes('--ipv6');
    const c = parse(argv.filter((a) => a !== '--ipv6'));
    let text = `# minimesh iptables ${argv.map((a) => (a === '' || a.includes('*') ? `'${a}'` : a)).join(' ')}\n`;
    text += restoreText('nat', buildNatRules(c.options, 4));
    if (v6) text += restoreText('nat', buildNatRules(c.options, 6));
    const g = golden('iptables', name, text);
    t.equal(g.actual, g.expected, `${name} (${g.file}; REFRESH_GOLDEN=1 to rewrite)`);
  }
  t.same(staleGoldens('iptables', Object.keys(CASES)), [], 'no stale goldens');
});

t.test("Istio's documented default rule set, line for line", async (t) => {
  const rules = buildNatRules(parse(ISTIO_DEFAULT).options);
  t.same(rules, [
    '-N ISTIO_INBOUND',
    '-N ISTIO_REDIRECT',
    '-N ISTIO_IN_REDIRECT',
    '-N ISTIO_OUTPUT',
    '-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN',
    '-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
    '-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
    '-A PREROUTING -p tcp -j ISTIO_INBOUND',
    '-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN',
    '-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN',
    '-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
    '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT',
    '-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
    '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
    '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT',
    '-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
    '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
    '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
  ]);
});

t.test('bad flags are usage errors', async (t) => {
  t.throws(() => parse(['-p', 'x']), /-p: not a port/);
  t.throws(() => parse(['-x', '10.0.0.0/8,nope']), /-x: not a CIDR/);
  t.throws(() => parse(['-m', 'TPROXY']), /TPROXY is not supported/);
  t.throws(() => parse(['--bogus']), /Unknown option/);
  t.throws(() => parse(['-c', 'eth0;rm']), /-c: not an interface/);
});

t.test('invalid CIDRs are usage errors naming the flag and the value', async (t) => {
  for (const [flag, bad] of [
    ['-x', '300.1.1.1/32'],
    ['-x', '10.0.0.0/33'],
    ['-i', '10.0.0.0/99'],
    ['-i', '1.2.3'],
    ['-x', 'fd00::/129'],
    ['-x', ':::/8'],
    ['-x', '10.0.0.0/8/8'],
    ['-i', '10.0.0.0/'],
    ['-x', '999.999.999.999'],
  ]) {
    t.throws(() => parse([flag, bad]), { message: `${flag}: not a CIDR: ${JSON.stringify(bad)}` }, `${flag} ${bad}`);
  }
  t.same(parse(['-x', '10.0.0.0/8,10.0.0.1,fd00::/8,::1,0.0.0.0/0']).options.excludeOutboundCidrs, ['10.0.0.0/8', '10.0.0.1/32', 'fd00::/8', '::1/128', '0.0.0.0/0']);
});

t.test('iptables main: a bad CIDR and --ipv6 exit 2 with a usage error', async (t) => {
  const { iptablesMain } = await import('../src/iptables/iptables-main.js');
  const err: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    t.equal(await iptablesMain(['-n', '-x', '10.0.0.0/40']), 2);
    t.match(err.join(''), /-x: not a CIDR: "10\.0\.0\.0\/40"/);
    err.length = 0;
    t.equal(await iptablesMain(['-n', '--ipv6']), 2);
    t.match(err.join(''), /--ipv6 is not supported by minimesh yet/);
  } finally {
    process.stderr.write = write;
  }
});

t.test('-q (outbound ports include) comes after the excluded CIDRs, as Istio', async (t) => {
  const rules = buildNatRules(parse([...ISTIO_DEFAULT, '-x', '10.0.0.0/8', '-q', '80']).options);
  const at = (r: string): number => rules.indexOf(r);
  t.ok(at('-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN') < at('-A ISTIO_OUTPUT -d 10.0.0.0/8 -j RETURN'));
  t.ok(at('-A ISTIO_OUTPUT -d 10.0.0.0/8 -j RETURN') < at('-A ISTIO_OUTPUT -p tcp --dport 80 -j ISTIO_REDIRECT'), 'exclude CIDRs, then -q');
  t.ok(at('-A ISTIO_OUTPUT -p tcp --dport 80 -j ISTIO_REDIRECT') < at('-A ISTIO_OUTPUT -j ISTIO_REDIRECT'), 'then the include CIDRs');
});

/** A fake iptables: keeps an iptables-save text and applies restore scripts to it. */
function fakeIptables(failOn?: string): { run: CommandRunner; saved: () => string; calls: string[] } {
  let chains = new Map<string, string[]>([
    ['PREROUTING', []],
    ['INPUT', []],
    ['OUTPUT', ['-A OUTPUT -d 192.0.2.1/32 -j ACCEPT']],
    ['POSTROUTING', []],
  ]);
  const calls: string[] = [];
  const saved = (): string => {
    const decl = [...chains.keys()].map((c) => `:${c} ${['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'].includes(c) ? 'ACCEPT' : '-'} [0:0]`);
    return `*nat\n${decl.join('\n')}\n${[...chains.values()].flat().join('\n')}\nCOMMIT\n`;
  };
  const run: CommandRunner = (cmd, args, stdin) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (cmd === 'iptables-save') return { code: 0, stdout: saved(), stderr: '' };
    if (failOn !== undefined && (stdin ?? '').includes(failOn)) return { code: 2, stdout: '', stderr: `bad rule ${failOn}` };
    const next = new Map([...chains].map(([k, v]) => [k, [...v]]));
    for (const line of (stdin ?? '').split('\n')) {
      const [op, chain] = line.split(' ');
      const rest = line.slice(op.length + 1 + (chain?.length ?? 0) + 1);
      if (op === '-N') {
        if (next.has(chain)) return { code: 1, stdout: '', stderr: `chain ${chain} already exists` };
        next.set(chain, []);
      } else if (op === '-A') next.get(chain)!.push(line);
      else if (op === '-D') {
        const rules = next.get(chain)!;
        const i = rules.indexOf(`-A ${chain} ${rest}`);
        if (i < 0) return { code: 1, stdout: '', stderr: `no such rule ${line}` };
        rules.splice(i, 1);
      } else if (op === '-F') next.set(chain, []);
      else if (op === '-X') next.delete(chain);
    }
    chains = next;
    return { code: 0, stdout: '', stderr: '' };
  };
  return { run, saved, calls };
}

t.test('apply is idempotent and cleanup removes exactly what apply added', async (t) => {
  const f = fakeIptables();
  const before = f.saved();
  const opts = parse(ISTIO_DEFAULT).options;
  applyRules(f.run, 4, opts);
  const once = f.saved();
  t.match(once, /-A PREROUTING -p tcp -j ISTIO_INBOUND/);
  applyRules(f.run, 4, opts);
  t.equal(f.saved(), once, 'applying twice leaves one copy');
  t.ok(cleanupRules(f.run, 4).length > 0);
  t.equal(f.saved(), before, 'cleanup restores the table, keeping the rule that was not ours');
  t.same(cleanupRules(f.run, 4), [], 'cleanup twice is a no-op');
  t.equal(f.saved(), before);
});

t.test('a re-apply that fails keeps the old rules (one transaction, never fails open)', async (t) => {
  const f = fakeIptables('--to-ports 16001');
  applyRules(f.run, 4, parse(ISTIO_DEFAULT).options);
  const good = f.saved();
  t.throws(() => applyRules(f.run, 4, parse(['-p', '16001']).options), /iptables-restore --noflush failed/);
  t.equal(f.saved(), good, 'the old rules are still there');
  t.same(
    f.calls.filter((c) => c.startsWith('iptables-restore')).length,
    2,
    'one restore per apply',
  );
});

t.test('cleanup text from a real iptables-save', async (t) => {
  const saved = `# Generated by iptables-save v1.8.9 (nf_tables)
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:ISTIO_INBOUND - [0:0]
:ISTIO_IN_REDIRECT - [0:0]
:ISTIO_OUTPUT - [0:0]
:ISTIO_REDIRECT - [0:0]
:KEEP_ME - [0:0]
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A PREROUTING -j KEEP_ME
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp -m tcp --dport 15008 -j RETURN
COMMIT
`;
  t.same(buildCleanupRules(saved), [
    '-D PREROUTING -p tcp -j ISTIO_INBOUND',
    '-D OUTPUT -j ISTIO_OUTPUT',
    '-F ISTIO_INBOUND',
    '-F ISTIO_REDIRECT',
    '-F ISTIO_IN_REDIRECT',
    '-F ISTIO_OUTPUT',
    '-X ISTIO_INBOUND',
    '-X ISTIO_REDIRECT',
    '-X ISTIO_IN_REDIRECT',
    '-X ISTIO_OUTPUT',
  ]);
});
