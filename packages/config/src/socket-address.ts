/** Address.socket_address -> { address, port }. */
import type { Address } from '@minimesh/api';
import { allowOnly, join, type Errors } from './errors.js';

export function compileSocketAddress(
  a: Address | null | undefined,
  path: string,
  errors: Errors,
  opts: { allowHostname?: boolean } = {},
): { address: string; port: number } | undefined {
  if (!a?.socket_address) {
    errors.add(join(path, 'socket_address'), 'socket_address is required (pipe and internal addresses are not supported by minimesh)');
    return undefined;
  }
  allowOnly(a, path, ['socket_address'], errors, ['address']);
  const sa = a.socket_address;
  const sp = join(path, 'socket_address');
  allowOnly(sa, sp, ['address', 'port_value', 'protocol'], errors, ['port_specifier'], {
    named_port: 'named_port is not supported by minimesh; use port_value',
    resolver_name: 'resolver_name is not supported by minimesh',
  });
  if (sa.protocol && sa.protocol !== 'TCP') errors.add(join(sp, 'protocol'), 'only TCP is supported by minimesh');
  const address = sa.address ?? '';
  if (!address) errors.add(join(sp, 'address'), 'must not be empty');
  else if (!opts.allowHostname && !isIp(address)) errors.add(join(sp, 'address'), `${JSON.stringify(address)} is not an IP address`);
  const port = sa.port_value ?? 0;
  if (port > 65535) errors.add(join(sp, 'port_value'), 'must be at most 65535');
  return { address, port };
}

function isIp(s: string): boolean {
  return /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) || (s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s));
}
