/** proxy-status and proxy-config tables: golden text from fixed inputs. */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxyStatusTable, nackLines } from '@minimesh/control-plane/cli/proxy-status';
import { proxyConfigTable } from '@minimesh/control-plane/cli/proxy-config-tables';
import { controlPlaneConfigDump } from '@minimesh/control-plane/server/config-dump';
import type { ProxySyncz, TypeSyncz } from '@minimesh/control-plane/server/syncz';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const golden = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(repo, 'control-plane/test/golden', name, 'expected.json'), 'utf8'));

t.test('proxy-status', async (t) => {
  const synced: TypeSyncz = { state: 'SYNCED', sent_version: 'a1', acked_version: 'a1' };
  const entry = (name: string, types: Partial<ProxySyncz['types']>): ProxySyncz => ({
    proxy: `sidecar~127.0.0.2~${name}~client.svc.cluster.local`,
    name,
    cluster: `${name.split('-')[0]}.client`,
    version: '0.1.0',
    connected_at: '',
    peer: '',
    types: { CDS: synced, LDS: synced, EDS: synced, RDS: synced, ...types },
  });
  const rows = [
    entry('echo-local-00001.client', {}),
    entry('client-local-00001.client', { RDS: { state: 'ERROR', sent_version: 'b2', last_nack: { version: 'b2', nonce: 'n', message: 'route 80: bad regex', at: '' } }, EDS: { state: 'STALE' }, LDS: { state: 'NOT SENT' } }),
  ];
  t.equal(
    proxyStatusTable(rows),
    [
      'NAME                        CLUSTER         CDS      LDS        EDS      RDS      VERSION',
      'client-local-00001.client   client.client   SYNCED   NOT SENT   STALE    ERROR    0.1.0',
      'echo-local-00001.client     echo.client     SYNCED   SYNCED     SYNCED   SYNCED   0.1.0',
    ].join('\n'),
  );
  t.same(nackLines(rows), ['client-local-00001.client RDS b2: route 80: bad regex']);
});

// The golden's model gives the Deployment's replica 10.1.0.1 besides the registered pod 127.0.0.2.
t.test('proxy-config tables of the echo lab (local mode goldens)', async (t) => {
  const dump = (proxy: string): unknown =>
    controlPlaneConfigDump({ nodeId: proxy, cluster: '', metadata: {}, resources: golden(`echo-local/${proxy}`) as never, versions: { CDS: 'c', EDS: 'e', LDS: 'l', RDS: 'r' }, at: '' });
  t.equal(
    proxyConfigTable('clusters', dump('echo')),
    `SERVICE FQDN                              PORT     SUBSET     DIRECTION     TYPE       DESTINATION RULE
BlackHoleCluster                          -        -          -             STATIC     -
                                          5678     -          inbound       STATIC     -
echo-service.client.svc.cluster.local     80       -          outbound      EDS        -`,
  );
  t.equal(
    proxyConfigTable('listeners', dump('echo')),
    `ADDRESSES     PORT      TYPE
127.0.0.2     5678      HTTP
127.0.0.2     15001     HTTP`,
  );
  t.equal(
    proxyConfigTable('routes', dump('echo')),
    `NAME                VHOST NAME                                   DOMAINS                                               MATCH     VIRTUAL SERVICE
virtualOutbound     echo-service.client.svc.cluster.local:80     echo-service.client.svc.cluster.local + 3 more...     /*        -
inbound|5678||      inbound|http|5678                            *                                                     /*        -
inbound|5678||      inbound|http|5678                            *                                                     /*        -`,
    'one inline inbound route per filter chain (mTLS and plaintext, PERMISSIVE), as istioctl lists them',
  );
  t.equal(
    proxyConfigTable('endpoints', dump('client')),
    `ENDPOINT           STATUS      OUTLIER CHECK     CLUSTER
10.1.0.1:5678      HEALTHY     OK                outbound|80||echo-service.client.svc.cluster.local
127.0.0.2:5678     HEALTHY     OK                outbound|80||echo-service.client.svc.cluster.local`,
  );
});
