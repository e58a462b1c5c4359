/** The ACK / NACK / stale-nonce rules, as a table. */
import t from 'tap';
import { sameNames, shouldRespond, type RequestFacts, type RequestKind, type StreamTypeState } from '../src/server/should-respond.js';

const none: StreamTypeState = { lastNonce: undefined, names: undefined };
const sent = (nonce: string, names: string[] = []): StreamTypeState => ({ lastNonce: nonce, names });

const cases: [string, RequestFacts, StreamTypeState, RequestKind, boolean][] = [
  ['first request on a new stream gets a response', {}, none, 'initial', true],
  ['a reconnect carrying the version it holds still gets a response', { response_nonce: '' }, none, 'initial', true],
  ['a request without nonce after responses is a new initial request', { resource_names: ['a'] }, sent('n1', ['a']), 'initial', true],
  ['the current nonce without error is an ACK, no response', { response_nonce: 'n2' }, sent('n2'), 'ack', false],
  ['an ACK with the same names in another order is still an ACK', { response_nonce: 'n2', resource_names: ['b', 'a'] }, sent('n2', ['a', 'b']), 'ack', false],
  ['the current nonce with error_detail is a NACK, no response', { response_nonce: 'n2', error_detail: { message: 'bad' } }, sent('n2'), 'nack', false],
  ['an older nonce is stale and ignored', { response_nonce: 'n1' }, sent('n2'), 'stale', false],
  ['an older nonce with an error is stale too', { response_nonce: 'n1', error_detail: { message: 'bad' } }, sent('n2'), 'stale', false],
  ['a nonce when nothing was sent (e.g. from before a restart) is stale', { response_nonce: 'x-1' }, none, 'stale', false],
  ['an ACK asking for more names is a resubscription, answered', { response_nonce: 'n3', resource_names: ['a', 'b'] }, sent('n3', ['a']), 'resubscribe', true],
  ['an ACK asking for fewer names is a resubscription, answered', { response_nonce: 'n3', resource_names: [] }, sent('n3', ['a']), 'resubscribe', true],
  ['a NACK that also changes names is still a NACK', { response_nonce: 'n3', resource_names: ['z'], error_detail: { message: 'bad' } }, sent('n3', ['a']), 'nack', false],
];

for (const [name, req, state, kind, respond] of cases) {
  t.test(name, async (t) => {
    t.same(shouldRespond(req, state), { kind, respond });
  });
}

t.test('sameNames compares sets', async (t) => {
  t.ok(sameNames(['a', 'b', 'a'], ['b', 'a']));
  t.notOk(sameNames(['a'], ['a', 'b']));
  t.ok(sameNames([], []));
});
