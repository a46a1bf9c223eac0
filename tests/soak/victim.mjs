// victim.mjs - a client process that the soak kills with SIGKILL in the middle of its join (tests/soak/actors.mjs).
// Prints each stage it reaches (attached, offered, joined, subscribed) so the soak can tell where it died.
//
//   node tests/soak/victim.mjs WS_URL ROOM USER TOKEN
import { connect } from '../e2e/lib/client.mjs';
import { offerJsep, answerSdp } from '../e2e/lib/sdp.mjs';

const [wsUrl, room, user, token] = process.argv.slice(2);
const say = (s) => process.stdout.write(`${s}\n`);
const conn = await connect(wsUrl);
const session = await conn.createSession({ keepaliveMs: 5000 });
const pub = await session.attach('janus.plugin.sfu');
say('attached');
await pub.send({}, offerJsep());
say('offered');
const j = await pub.send({ kind: 'join', room_id: room, user_id: user, subscribe: { notifications: true, data: true }, token });
say(`joined ${j.success}`);
const sub = await session.attach('janus.plugin.sfu');
const r = await sub.send({ kind: 'join', room_id: room, user_id: user, subscribe: { media: 'pub-0' }, token });
if (r.jsep) await sub.send({}, { type: 'answer', sdp: answerSdp(r.jsep.sdp) });
say('subscribed');
setInterval(() => {}, 1000); // wait to be killed
