/**
 * For tests: a throwaway root and a serving certificate it signs (as the control plane's CA
 * signs its 15012 certificate), made with the `openssl` program into a temp dir. Not a test
 * file (tap only runs `*.test.js`).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestRoot {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

export interface TestServingCert {
  readonly certPem: string;
  readonly keyPem: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `false` when `openssl` runs, else why not (the tests skip outside CI, fail under CI=true). */
export function opensslMissing(): string | false {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return false;
  } catch (e) {
    return `openssl is not installed (${(e as Error).message}): cannot make test certificates`;
  }
}

/** A self-signed root CA named `name`, written as `<name>.pem` and `<name>.key` in `dir`. */
export function makeRoot(dir: string, name: string): TestRoot {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  openssl(['req', '-x509', ...EC_KEY, '-days', '1', '-subj', `/O=minimesh test/CN=${name}`, '-keyout', keyFile, '-out', certFile], dir);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

/** A serving certificate for the DNS names `dnsNames`, signed by `root`. */
export function makeServingCert(dir: string, root: TestRoot, dnsNames: readonly string[]): TestServingCert {
  const base = join(dir, `serving-${dnsNames[0]}`);
  const ext = `${base}.ext`;
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}\n`);
  openssl(['req', '-new', ...EC_KEY, '-subj', `/O=minimesh test`, '-keyout', `${base}.key`, '-out', `${base}.csr`], dir);
  openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', root.certFile, '-CAkey', root.keyFile, '-set_serial', String(Date.now()), '-days', '1', '-extfile', ext, '-out', `${base}.pem`], dir);
  return { certPem: readFileSync(`${base}.pem`, 'utf8'), keyPem: readFileSync(`${base}.key`, 'utf8') };
}
