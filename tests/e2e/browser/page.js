// page.js - drives the UNMODIFIED naf-janus-adapter bundle for tests/e2e/browser.test.mjs (via page.evaluate).
// window.sfu.connect() connects with the fake camera and microphone; the rest reads the adapter's state.
(function () {
  const state = {
    adapter: null,
    log: [],
    connected: [],       // onOccupantConnected ids (subscriber up)
    disconnected: [],    // onOccupantDisconnected ids
    messages: [],        // { dataType, data, source }
    domEvents: [],       // { type: blocked|unblocked, clientId }
    occupantsChanged: 0,
  };
  const note = (s) => state.log.push(`${new Date().toISOString()} ${s}`);

  for (const type of ['blocked', 'unblocked', 'kicked']) {
    document.addEventListener('DOMContentLoaded', () => document.body.addEventListener(type, (e) => {
      state.domEvents.push({ type, clientId: e.detail && e.detail.clientId });
    }));
  }

  function sameSet(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    return a.every((x) => b.includes(x));
  }

  window.sfu = {
    state,
    async connect({ serverUrl, room, clientId, video = true }) {
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
      a.setPeerConnectionConfig({ iceServers: [] });
      a.setServerConnectListeners(() => note('connectSuccess'), (e) => note(`connectFailure ${e}`));
      a.setRoomOccupantListener((occupants) => {
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
      // What networked-aframe does: ask for every available occupant.
      state.syncTimer = setInterval(() => {
        if (!sameSet(a.availableOccupants, a.requestedOccupants)) a.syncOccupants(a.availableOccupants.slice());
      }, 200);
      a.syncOccupants(a.availableOccupants.slice());
      return true;
    },

    /** Occupants whose subscriber PeerConnection is up (adapter.occupants), and the available ones. */
    occupants() {
      const a = state.adapter;
      return { subscribed: Object.keys(a.occupants).sort(), available: a.availableOccupants.slice().sort() };
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
      state.adapter.disconnect();
    },
  };
})();
