// page.js - drives the UNMODIFIED naf-janus-adapter bundle for tests/e2e/browser.test.mjs and
// tests/e2e/browser-auth.test.mjs (via page.evaluate).
// window.sfu.connect() connects with the fake camera and microphone (and a join token when given); the rest reads
// the adapter's state. The publisher handle's plugin events (join, leave, token_expiring, ejected, ...) are kept in
// state.pluginEvents; sfu.enableRefresh() runs the token refresh of docs/REFRESH.md.
(function () {
  const state = {
    adapter: null,
    log: [],
    connected: [],       // onOccupantConnected ids (subscriber up)
    disconnected: [],    // onOccupantDisconnected ids
    messages: [],        // { dataType, data, source }
    domEvents: [],       // { type: blocked|unblocked, clientId }
    occupantsChanged: 0,
    seenOccupants: [],   // every id the occupant listener ever reported
    pluginEvents: [],    // { at: ms, data } for the publisher handle's plugin events (not data)
    refreshes: [],       // { at, ok, expires_at?, reason? } of enableRefresh()
    connectErrors: [],   // what connect() rejected with (serializable)
  };
  const note = (s) => state.log.push(`${new Date().toISOString()} ${s}`);

  for (const type of ['blocked', 'unblocked', 'kicked']) {
    document.addEventListener('DOMContentLoaded', () => document.body.addEventListener(type, (e) => {
      state.domEvents.push({ type, clientId: e.detail && e.detail.clientId });
    }));
  }

  function recordPluginEvents(a) {
    a.publisher.handle.on('event', (ev) => {
      const data = ev.plugindata && ev.plugindata.data;
      if (!data || !data.event || data.event === 'data') return;
      state.pluginEvents.push({ at: Date.now(), data });
      note(`plugin event ${JSON.stringify(data)}`);
    });
  }

  /** A JSON-safe copy of what connect() rejected with (naf throws the join result's error object). */
  function describeError(e) {
    if (e instanceof Error) return { name: e.name, message: e.message };
    try {
      return JSON.parse(JSON.stringify(e));
    } catch {
      return { message: String(e) };
    }
  }

  function sameSet(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    return a.every((x) => b.includes(x));
  }

  window.sfu = {
    state,
    async connect({ serverUrl, room, clientId, video = true, token }) {
      if (!window.JanusAdapter) throw new Error('naf-janus-adapter did not register');
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: video ? { width: 320, height: 240, frameRate: 15 } : false,
      });
      const a = new window.JanusAdapter();
      state.adapter = a;
      window.adapter = a;
      a.setServerUrl(serverUrl);
      a.setRoom(room);
      a.setClientId(clientId);
      if (token !== undefined) a.setJoinToken(token);
      a.setPeerConnectionConfig({ iceServers: [] });
      // connectSuccess runs synchronously right after the publisher's join result: no later event is missed.
      a.setServerConnectListeners(() => { note('connectSuccess'); recordPluginEvents(a); },
        (e) => note(`connectFailure ${e}`));
      a.setRoomOccupantListener((occupants) => {
        for (const id of Object.keys(occupants)) if (!state.seenOccupants.includes(id)) state.seenOccupants.push(id);
        state.occupantsChanged++;
        note(`occupants ${Object.keys(occupants).join(',')}`);
      });
      a.setDataChannelListeners(
        (id) => { state.connected.push(id); note(`occupant connected ${id}`); },
        (id) => { state.disconnected.push(id); note(`occupant disconnected ${id}`); },
        (_from, dataType, data, source) => state.messages.push({ dataType, data, source }),
      );
      a.setReconnectionListeners((d) => note(`reconnecting in ${d}`), () => note('reconnected'), (e) => note(`reconnect error ${e}`));
      await a.setLocalMediaStream(stream);
      await a.connect();
      note('connected');
      // What networked-aframe does: ask for every available occupant (naf-janus-adapter 4.x; 3.x subscribes to
      // every occupant by itself and has no syncOccupants).
      if (typeof a.syncOccupants === 'function') {
        state.syncTimer = setInterval(() => {
          if (!sameSet(a.availableOccupants, a.requestedOccupants)) a.syncOccupants(a.availableOccupants.slice());
        }, 200);
        a.syncOccupants(a.availableOccupants.slice());
      }
      return true;
    },

    /** connect(), but resolves with { ok: true } or { ok: false, error } (the join result's error) instead of throwing. */
    async tryConnect(opts) {
      try {
        await window.sfu.connect(opts);
        return { ok: true };
      } catch (e) {
        const error = describeError(e);
        state.connectErrors.push(error);
        note(`connect rejected ${JSON.stringify(error)}`);
        return { ok: false, error };
      }
    },

    /** The plugin events named `name` (all when omitted) the publisher handle got so far. */
    pluginEvents(name) {
      return state.pluginEvents.filter((e) => !name || e.data.event === name);
    },

    /**
     * docs/REFRESH.md: on token_expiring, get a new token from window[fetchName]() (exposed by the test), give it to
     * the adapter for later subscriber joins and send it in-band with kind:"refresh".
     */
    enableRefresh(fetchName = 'sfuFetchToken') {
      const a = state.adapter;
      async function refreshJanusToken() {
        const token = await window[fetchName]();
        a.setJoinToken(token);
        const reply = await a.publisher.handle.sendMessage({ kind: 'refresh', token });
        const result = reply.plugindata.data;
        if (!result.success) throw new Error(`token refresh refused: ${result.error.reason}`);
        return result.response.expires_at;
      }
      a.publisher.handle.on('event', (ev) => {
        const data = ev.plugindata && ev.plugindata.data;
        if (data && data.event === 'token_expiring') {
          refreshJanusToken().then(
            (exp) => { state.refreshes.push({ at: Date.now(), ok: true, expires_at: exp }); note(`refreshed until ${exp}`); },
            (e) => { state.refreshes.push({ at: Date.now(), ok: false, reason: String(e && e.message) }); note(`refresh failed ${e}`); },
          );
        }
      });
      return true;
    },

    /**
     * docs/REFRESH.md, the Hubs case: the app renews its token on its own schedule (every periodMs, whatever the
     * plugin says) and hands it to the adapter (setJoinToken, as the Hubs client does). With forward, it also
     * sends it in-band with one kind:"refresh" message; without, the plugin never sees it until a new subscriber
     * join, which is what an unchanged Hubs client does.
     */
    enableTimedRefresh(periodMs, forward, fetchName = 'sfuFetchToken') {
      const a = state.adapter;
      const tick = async () => {
        const token = await window[fetchName]();
        a.setJoinToken(token);
        if (!forward) return undefined;
        const reply = await a.publisher.handle.sendMessage({ kind: 'refresh', token });
        const result = reply.plugindata.data;
        if (!result.success) throw new Error(`token refresh refused: ${result.error.reason}`);
        return result.response.expires_at;
      };
      state.refreshTimer = setInterval(() => {
        tick().then(
          (exp) => { state.refreshes.push({ at: Date.now(), ok: true, expires_at: exp }); },
          (e) => { state.refreshes.push({ at: Date.now(), ok: false, reason: String(e && e.message) }); },
        );
      }, periodMs);
      return true;
    },

    /** A raw request on the publisher handle; resolves with its plugindata.data. */
    async request(body) {
      const reply = await state.adapter.publisher.handle.sendMessage(body);
      return reply.plugindata.data;
    },

    kick: (id, token) => state.adapter.kick(id, token),

    /** Occupants whose subscriber PeerConnection is up (adapter.occupants), and the available ones. */
    occupants() {
      const a = state.adapter;
      // 3.x keeps no list of available occupants: every occupant it learns of is subscribed to.
      const available = a.availableOccupants ? a.availableOccupants.slice() : Object.keys(a.occupants);
      return { subscribed: Object.keys(a.occupants).sort(), available: available.sort() };
    },

    /** For each subscribed occupant: inbound audio/video bytes, video frames decoded, connection state. */
    async stats() {
      const a = state.adapter;
      const out = {};
      for (const [id, sub] of Object.entries(a.occupants)) {
        const r = { audioBytes: 0, videoBytes: 0, framesDecoded: 0, pc: sub.conn.connectionState, codecs: [] };
        const report = await sub.conn.getStats();
        const codecs = {};
        report.forEach((s) => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
        report.forEach((s) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'audio') r.audioBytes += s.bytesReceived || 0;
          if (s.kind === 'video') {
            r.videoBytes += s.bytesReceived || 0;
            r.framesDecoded += s.framesDecoded || 0;
          }
          if (s.codecId && codecs[s.codecId]) r.codecs.push(codecs[s.codecId]);
        });
        out[id] = r;
      }
      return out;
    },

    /** What this page's publisher PeerConnection has sent so far: audio/video bytes (outbound-rtp). */
    async publisherStats() {
      const r = { audioBytesSent: 0, videoBytesSent: 0 };
      const report = await state.adapter.publisher.conn.getStats();
      report.forEach((s) => {
        if (s.type !== 'outbound-rtp') return;
        if (s.kind === 'audio') r.audioBytesSent += s.bytesSent || 0;
        if (s.kind === 'video') r.videoBytesSent += s.bytesSent || 0;
      });
      return r;
    },

    /** Sends `data` with one of: reliable | unreliable (data channels), websocket (kind:"data"). */
    send(transport, to, dataType, data) {
      const a = state.adapter;
      if (transport === 'websocket') {
        const saved = a.reliableTransport;
        a.reliableTransport = 'websocket';
        try {
          if (to) a.sendDataGuaranteed(to, dataType, data); else a.broadcastDataGuaranteed(dataType, data);
        } finally {
          a.reliableTransport = saved;
        }
      } else if (transport === 'reliable') {
        if (to) a.sendDataGuaranteed(to, dataType, data); else a.broadcastDataGuaranteed(dataType, data);
      } else if (transport === 'unreliable') {
        if (to) a.sendData(to, dataType, data); else a.broadcastData(dataType, data);
      } else {
        throw new Error(`unknown transport ${transport}`);
      }
    },

    /** Messages received so far with data.tag === tag. */
    received(tag) {
      return state.messages.filter((m) => m.data && m.data.tag === tag);
    },

    block: (id) => state.adapter.block(id),
    unblock: (id) => state.adapter.unblock(id),
    disconnect() {
      clearInterval(state.syncTimer);
      if (state.adapter) state.adapter.disconnect();
    },
  };
})();
