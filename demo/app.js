// app.js - the demo page: one naf-janus-adapter (unmodified) per tab, a <video> per remote occupant, chat, and
// the room's tokens: the demo server gives each tab an identity and a short-lived join token for the private
// demo room; the first tab is the room's owner (its token may kick). The page keeps its token fresh in-band
// (docs/REFRESH.md) and shows why it left the room (kicked, token expired).
//
// Page parameters: ?name=<label>, ?refresh=0 (never refresh the token: watch it expire), ?relay=1 (media only through
// the TURN server the token endpoint names: checks a TURN setup, docs/DEPLOYMENT.md).
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const autoRefresh = params.get('refresh') !== '0';
  const relayOnly = params.get('relay') === '1';
  $('user').value = params.get('name') || `guest${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;

  let config = null;
  let me = null;        // { user, key, owner } from the demo server; one identity for the life of the tab
  let token = null;     // the current join token (never shown or logged)
  let expiresAt = 0;    // its exp, unix seconds
  let adapter = null;
  let watched = null;   // the publisher handle whose plugin events we listen to
  let syncTimer = null;
  let refreshing = null;
  let refreshes = 0;
  const names = {};     // client id -> name (from the tabs' "hello" messages)
  const owners = new Set();
  const kicking = new Set();

  function log(line) {
    const div = document.createElement('div');
    div.textContent = `${new Date().toLocaleTimeString()}  ${line}`;
    $('log').appendChild(div);
    $('log').scrollTop = $('log').scrollHeight;
  }
  function status(s) { $('status').textContent = s; }
  function banner(text, kind) {
    $('banner').textContent = text || '';
    $('banner').className = kind || '';
    $('banner').style.display = text ? 'block' : 'none';
  }
  const nameOf = (id) => names[id] || id;
  const clock = (unixS) => new Date(unixS * 1000).toLocaleTimeString();

  function caption(id) {
    const mine = me && id === me.user;
    const base = mine ? `${$('user').value} (you)` : nameOf(id);
    return owners.has(id) || (mine && me.owner) ? `${base} · owner` : base;
  }

  function addVideo(id, stream, mine) {
    let fig = document.getElementById(`v-${id}`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.id = `v-${id}`;
      if (mine) fig.className = 'me';
      fig.innerHTML = '<video autoplay playsinline></video><figcaption><span class="label"></span></figcaption>';
      if (!mine && me && me.owner) {
        // Owner only: the kick button (the plugin refuses kicks from tokens without kick_users anyway).
        const b = document.createElement('button');
        b.className = 'kick';
        b.textContent = 'Kick';
        b.onclick = () => kick(id, b);
        fig.querySelector('figcaption').appendChild(b);
      }
      $('videos').appendChild(fig);
    }
    const v = fig.querySelector('video');
    v.muted = !!mine;
    v.srcObject = stream;
    v.play().catch(() => {});
    fig.querySelector('.label').textContent = caption(id);
  }
  function relabel(id) {
    const l = document.querySelector(`#v-${id} .label`);
    if (l) l.textContent = caption(id);
  }
  function removeVideo(id) {
    const fig = document.getElementById(`v-${id}`);
    if (fig) fig.remove();
  }

  async function occupantConnected(id) {
    const [audio, video] = await Promise.all([adapter.getMediaStream(id, 'audio'), adapter.getMediaStream(id, 'video')]);
    if (!adapter) return;
    addVideo(id, new MediaStream([...audio.getTracks(), ...video.getTracks()]), false);
    announce(id);
  }
  // "<name> is here", once per occupant, as soon as both its video and its name (first "hello") arrived.
  const announced = new Set();
  function announce(id) {
    if (announced.has(id) || !names[id] || !document.getElementById(`v-${id}`)) return;
    announced.add(id);
    log(`${names[id]} is here`);
  }

  /* ---- Tokens ------------------------------------------------------------------------------------------ */
  // The demo server's token endpoint: the first call gives this tab its identity, later calls a fresh token.
  async function fetchToken() {
    const q = me ? `?user=${encodeURIComponent(me.user)}&key=${encodeURIComponent(me.key)}` : '';
    const r = await fetch(`/token${q}`, { cache: 'no-store' });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || `token request failed (${r.status})`);
    return body;
  }

  // docs/REFRESH.md: fetch a new token, keep it for later subscriber joins, and hand it to the plugin in-band.
  async function refreshJanusToken() {
    const fresh = await fetchToken();
    adapter.setJoinToken(fresh.token); // later subscriber joins carry the new token too
    const reply = await adapter.publisher.handle.sendMessage({ kind: 'refresh', token: fresh.token });
    const result = reply.plugindata.data;
    if (!result.success) throw new Error(`token refresh refused: ${result.error.reason}`);
    token = fresh.token;
    expiresAt = result.response.expires_at; // unix seconds
    refreshes += 1;
    log(`token refreshed: valid until ${clock(expiresAt)}`);
    return expiresAt;
  }

  function onPluginEvent(ev) {
    const data = ev.plugindata && ev.plugindata.data;
    if (!data || !data.event) return;
    if (data.event === 'token_expiring') {
      if (!autoRefresh) {
        log(`token_expiring: the token ends at ${clock(data.expires_at)}; not refreshing (?refresh=0)`);
        return;
      }
      log(`token_expiring: the token ends at ${clock(data.expires_at)}; refreshing`);
      if (!refreshing) {
        refreshing = refreshJanusToken()
          .catch((e) => log(`refresh failed: ${e.message || e}`))
          .finally(() => { refreshing = null; });
      }
    } else if (data.event === 'ejected') {
      onEjected(data);
    }
  }

  function watchPublisher() {
    const h = adapter && adapter.publisher && adapter.publisher.handle;
    if (!h || h === watched) return;
    watched = h;
    h.on('event', onPluginEvent);
  }

  function onEjected(data) {
    const why = {
      kicked: `You were kicked by ${data.by ? nameOf(data.by) : 'the owner'}.`,
      token_expired: 'Your token expired: you left the room.',
      session_limit: 'Your session reached its time limit.',
      admin: 'An operator removed you from the room.',
    }[data.reason] || `You were removed from the room (${data.reason}).`;
    log(why);
    teardown(`not in the room (${data.reason})`);
    banner(why + (data.reason === 'kicked' ? ' You cannot rejoin this room for a while.' : ''));
  }

  /* ---- Joining and leaving ------------------------------------------------------------------------------ */
  async function join() {
    if (!config) throw new Error('the page is still loading');
    $('join').disabled = true;
    banner('');
    const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    const t = await fetchToken();
    const first = !me;
    me = { user: t.user, key: t.key, owner: !!t.owner };
    if (first && config.auth) {
      $('role').textContent = me.owner ? 'You are the owner: you can kick others' : 'guest';
      $('role').className = me.owner ? 'owner' : '';
      if (me.owner) log('you are the owner of this room (the first tab): a Kick button is under every other video');
    }
    token = t.token;
    expiresAt = t.expires_at || 0;
    addVideo(me.user, local, true);

    adapter = new window.JanusAdapter();
    adapter.setServerUrl(config.janusWsUrl);
    adapter.setRoom(config.room);
    adapter.setClientId(me.user);
    // TURN when the token endpoint gives it (docs/DEPLOYMENT.md); ?relay=1 forces every packet through it.
    adapter.setPeerConnectionConfig({ iceServers: t.iceServers || [], ...(relayOnly ? { iceTransportPolicy: 'relay' } : {}) });
    if (config.auth) adapter.setJoinToken(token); // before connect(): every join and subscribe carries it
    adapter.setServerConnectListeners(() => status(`in room "${config.room}" as ${me.user}`), (e) => status(`failed: ${e}`));
    adapter.setReconnectionListeners(
      (ms) => status(`connection lost; reconnecting in ${Math.round(ms / 1000)} s`),
      () => { watchPublisher(); status(`in room "${config.room}" as ${me.user} (reconnected)`); },
      (e) => status(`gave up reconnecting: ${e.message}`));
    adapter.setRoomOccupantListener(() => {});
    adapter.setDataChannelListeners(
      (id) => occupantConnected(id).catch((e) => log(`media of ${nameOf(id)}: ${e}`)),
      (id) => {
        removeVideo(id);
        announced.delete(id);
        log(kicking.delete(id) ? `you kicked ${nameOf(id)}` : `${nameOf(id)} left`);
      },
      (_from, dataType, data, source) => {
        if (dataType === 'hello' && data && (names[data.id] !== data.name || owners.has(data.id) !== !!data.owner)) {
          names[data.id] = data.name;
          if (data.owner) owners.add(data.id); else owners.delete(data.id);
          relabel(data.id);
          announce(data.id);
        }
        if (dataType === 'chat') log(`${data.name}: ${data.text}  [${source.replace('janus-', '')}]`);
      });
    await adapter.setLocalMediaStream(local);
    status('connecting...');
    try {
      await adapter.connect();
    } catch (e) {
      // A refused join rejects with the plugin's error ({msg, reason}).
      const text = e && e.msg ? `${e.msg} (${e.reason})` : String((e && e.message) || e);
      teardown(`refused: ${text}`);
      banner(`The room refused this tab: ${text}`);
      throw Object.assign(new Error(text), { shown: true });
    }
    watchPublisher();
    // What networked-aframe does: ask for every available occupant, again whenever the list changes.
    syncTimer = setInterval(() => {
      if (!adapter) return;
      const avail = adapter.availableOccupants;
      const req = adapter.requestedOccupants || [];
      if (avail.length !== req.length || avail.some((x) => !req.includes(x))) adapter.syncOccupants(avail.slice());
      adapter.broadcastDataGuaranteed('hello', { id: me.user, name: $('user').value, owner: me.owner });
    }, 1000);
    adapter.syncOccupants(adapter.availableOccupants.slice());
    if (config.auth) log(`joined with a token valid until ${clock(expiresAt)}${autoRefresh ? '' : ' (it will not be refreshed)'}`);
    for (const id of ['text', 'sendbtn', 'leave']) $(id).disabled = false;
  }

  function teardown(why) {
    clearInterval(syncTimer);
    syncTimer = null;
    const a = adapter;
    adapter = null;
    watched = null;
    // disconnect() also stops the adapter's reconnection attempts (a kicked tab must not knock again).
    if (a) a.disconnect();
    $('videos').innerHTML = '';
    kicking.clear();
    announced.clear();
    expiresAt = 0;
    $('token').textContent = '';
    status(why);
    $('join').disabled = false;
    for (const id of ['text', 'sendbtn', 'leave']) $(id).disabled = true;
  }

  async function kick(id, button) {
    if (!adapter) return;
    button.disabled = true;
    kicking.add(id);
    log(`kicking ${nameOf(id)}...`);
    try {
      // naf-janus-adapter's kick: {"kind":"kick","room_id","user_id","token"} on the publisher handle.
      await adapter.kick(id, token);
    } catch (e) {
      log(`kick failed: ${e.message || e}`);
    }
    setTimeout(() => {
      if (adapter && kicking.has(id) && document.getElementById(`v-${id}`)) {
        kicking.delete(id);
        button.disabled = false;
        log(`the kick of ${nameOf(id)} did not take effect`);
      }
    }, 5000);
  }

  setInterval(() => {
    if (!adapter || !expiresAt) return;
    const left = expiresAt - Math.floor(Date.now() / 1000);
    $('token').textContent = `token: ${Math.max(0, left)} s left${refreshes ? `, refreshed ${refreshes}×` : ''}`;
  }, 1000);

  // For demo/check-demo.mjs (and the curious, from the console): what this tab receives.
  window.demo = {
    get me() { return me && { user: me.user, owner: me.owner }; },
    get refreshes() { return refreshes; },
    get expiresAt() { return expiresAt; },
    get joined() { return !!adapter; },
    /** The local and remote candidate types of every PeerConnection's selected pair (publisher and subscribers). */
    async candidatePairs() {
      const conns = adapter ? [['publisher', adapter.publisher && adapter.publisher.conn],
        ...Object.entries(adapter.occupants).map(([id, o]) => [id, o.conn])] : [];
      const out = [];
      for (const [who, conn] of conns) {
        if (!conn) continue;
        const st = await conn.getStats();
        let pair = null;
        st.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = st.get(r.selectedCandidatePairId); });
        const local = pair && st.get(pair.localCandidateId);
        const remote = pair && st.get(pair.remoteCandidateId);
        out.push({ who, state: conn.connectionState, local: local ? local.candidateType : null,
          remote: remote ? remote.candidateType : null, relayProtocol: local ? local.relayProtocol || null : null });
      }
      return out;
    },
    async stats() {
      const out = {};
      for (const id of adapter ? Object.keys(adapter.occupants) : []) {
        const s = { audioBytes: 0, audioEnergy: 0, videoBytes: 0, framesDecoded: 0 };
        (await adapter.occupants[id].conn.getStats()).forEach((r) => {
          if (r.type !== 'inbound-rtp') return;
          if (r.kind === 'audio') { s.audioBytes += r.bytesReceived || 0; s.audioEnergy += r.totalAudioEnergy || 0; }
          if (r.kind === 'video') { s.videoBytes += r.bytesReceived || 0; s.framesDecoded += r.framesDecoded || 0; }
        });
        out[id] = s;
      }
      return out;
    },
  };

  $('join').onclick = () => join().catch((e) => {
    if (!e.shown) { status(`error: ${e.message || e}`); banner(`Could not join: ${e.message || e}`); }
    if (!adapter) $('join').disabled = false;
  });
  $('leave').onclick = () => teardown('left');
  $('send').onsubmit = (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (!text || !adapter) return;
    const msg = { name: $('user').value, text };
    if ($('viaws').checked) {
      adapter.reliableTransport = 'websocket';
      adapter.broadcastDataGuaranteed('chat', msg);
      adapter.reliableTransport = 'datachannel';
    } else {
      adapter.broadcastDataGuaranteed('chat', msg);
    }
    log(`${msg.name} (you): ${text}`);
    $('text').value = '';
  };

  fetch('/config.json', { cache: 'no-store' }).then((r) => r.json()).then((c) => {
    config = c;
    $('room').textContent = c.room;
    $('role').textContent = c.auth ? 'private room: this tab gets a join token' : 'open room (no tokens)';
  }).catch((e) => status(`cannot load /config.json: ${e}`));
})();
