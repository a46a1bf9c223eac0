// admin.mjs - the Janus admin API over HTTP (POST with admin_secret), for the integration tests.
//
//   const admin = adminClient(janus);
//   const r = await admin.messagePlugin({ request: 'list_rooms' });   // r.response = the plugin's answer
//   await admin.listSessions();  await admin.listHandles(sessionId);  await admin.handleInfo(sessionId, handleId);
import { randomBytes } from 'node:crypto';
import { slack } from './slack.mjs';

export function adminClient({ adminUrl, adminSecret }, { timeoutMs = slack(10000) } = {}) {
  async function post(path, body) {
    const transaction = randomBytes(6).toString('hex');
    const r = await fetch(`${adminUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, transaction, admin_secret: adminSecret }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const json = await r.json();
    return json;
  }
  return {
    post,
    /** {"janus":"message_plugin","plugin":"janus.plugin.sfu","request":{...}} -> the whole reply. */
    messagePlugin: (request, plugin = 'janus.plugin.sfu') => post('', { janus: 'message_plugin', plugin, request }),
    listSessions: () => post('', { janus: 'list_sessions' }),
    listHandles: (sessionId) => post(`/${sessionId}`, { janus: 'list_handles' }),
    handleInfo: (sessionId, handleId) => post(`/${sessionId}/${handleId}`, { janus: 'handle_info' }),
    info: () => post('', { janus: 'info' }),
  };
}
