// app.js - the demo page: one naf-janus-adapter (unmodified) per tab, a <video> per remote occupant, chat.
(function () {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  $('room').value = params.get('room') || 'demo';
  // naf-janus-adapter uses numeric client ids (String(Uint32)); the name only labels the chat.
  const clientId = String(Math.floor(Math.random() * 0xffffffff));
  $('user').value = params.get('name') || `guest${clientId.slice(-3)}`;
  let adapter = null;
  let syncTimer = null;
  const names = {};

  function log(line) {
    const div = document.createElement('div');
    div.textContent = `${new Date().toLocaleTimeString()}  ${line}`;
    $('log').appendChild(div);
    $('log').scrollTop = $('log').scrollHeight;
  }
  function status(s) { $('status').textContent = s; }

  function addVideo(id, stream, label, mine) {
    let fig = document.getElementById(`v-${id}`);
    if (!fig) {
      fig = document.createElement('figure');
      fig.id = `v-${id}`;
      if (mine) fig.className = 'me';
      fig.innerHTML = '<video autoplay playsinline></video><figcaption></figcaption>';
      $('videos').appendChild(fig);
    }
    const v = fig.querySelector('video');
    v.muted = !!mine;
    v.srcObject = stream;
    v.play().catch(() => {});
    fig.querySelector('figcaption').textContent = label;
  }
  function removeVideo(id) {
    const fig = document.getElementById(`v-${id}`);
    if (fig) fig.remove();
  }

  async function occupantConnected(id) {
    const [audio, video] = await Promise.all([adapter.getMediaStream(id, 'audio'), adapter.getMediaStream(id, 'video')]);
    const stream = new MediaStream([...audio.getTracks(), ...video.getTracks()]);
    addVideo(id, stream, names[id] || id, false);
    log(`${names[id] || id} is here`);
  }

  async function join() {
    $('join').disabled = true;
    const room = $('room').value.trim() || 'demo';
    const config = await (await fetch('/config.json')).json();
    const local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    addVideo(clientId, local, `${$('user').value} (you)`, true);

    adapter = new window.JanusAdapter();
    adapter.setServerUrl(config.janusWsUrl);
    adapter.setRoom(room);
    adapter.setClientId(clientId);
    adapter.setPeerConnectionConfig({ iceServers: [] }); // same machine or LAN: no STUN needed
    if (config.auth) {
      // Token hook: the demo server mints a join token for this room and client (SFU_AUTH=1).
      const r = await (await fetch(`/token?room=${encodeURIComponent(room)}&user=${clientId}`)).json();
      adapter.setJoinToken(r.token);
    }
    adapter.setServerConnectListeners(() => status(`connected to room "${room}" as ${clientId}`), (e) => status(`failed: ${e}`));
    adapter.setRoomOccupantListener(() => {});
    adapter.setDataChannelListeners(
      (id) => occupantConnected(id).catch((e) => log(`media of ${id}: ${e}`)),
      (id) => { removeVideo(id); log(`${names[id] || id} left`); },
      (_from, dataType, data, source) => {
        if (dataType === 'hello' && names[data.id] !== data.name) {
          names[data.id] = data.name;
          const cap = document.querySelector(`#v-${data.id} figcaption`);
          if (cap) cap.textContent = data.name;
        }
        if (dataType === 'chat') log(`${data.name}: ${data.text}  [${source.replace('janus-', '')}]`);
      });
    await adapter.setLocalMediaStream(local);
    status('connecting...');
    await adapter.connect();
    // What networked-aframe does: ask for every available occupant, again whenever the list changes.
    syncTimer = setInterval(() => {
      const avail = adapter.availableOccupants;
      const req = adapter.requestedOccupants || [];
      if (avail.length !== req.length || avail.some((x) => !req.includes(x))) adapter.syncOccupants(avail.slice());
      adapter.broadcastDataGuaranteed('hello', { id: clientId, name: $('user').value });
    }, 1000);
    adapter.syncOccupants(adapter.availableOccupants.slice());
    for (const id of ['text', 'sendbtn', 'leave']) $(id).disabled = false;
  }

  function leave() {
    clearInterval(syncTimer);
    if (adapter) adapter.disconnect();
    adapter = null;
    $('videos').innerHTML = '';
    status('left');
    $('join').disabled = false;
    for (const id of ['text', 'sendbtn', 'leave']) $(id).disabled = true;
  }

  $('join').onclick = () => join().catch((e) => { status(`error: ${e.message || e}`); $('join').disabled = false; });
  $('leave').onclick = leave;
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
})();
