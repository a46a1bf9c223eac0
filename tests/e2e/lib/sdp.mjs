// sdp.mjs - static but valid WebRTC SDP offers, so the plugin's offer/answer path runs without a browser.
//
// offerSdp() is what a browser publisher sends after adding a microphone and a camera: audio Opus (PT 111),
// video H.264 42e01f (PT 102, plus its RTX), and a data channel, BUNDLEd, with ICE credentials, a DTLS
// fingerprint, setup:actpass, mids and ssrc lines. Variants: dataOnlyOffer(), audioOnlyOffer(), vp8Offer().
// answerSdp(offer) is a matching answer from a subscriber (for the JSEP answer path).
import { randomBytes } from 'node:crypto';

const CRLF = '\r\n';

function fingerprint() {
  return [...randomBytes(32)].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

function iceCreds() {
  return { ufrag: randomBytes(3).toString('hex'), pwd: randomBytes(12).toString('hex') };
}

function ssrc() {
  return randomBytes(4).readUInt32BE(0) || 1;
}

function mediaSection({ kind, mid, direction, ice, fp, setup, codecs, msid }) {
  const pts = codecs.map((c) => c.pt).join(' ');
  const l = [`m=${kind} 9 UDP/TLS/RTP/SAVPF ${pts}`, 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ice.ufrag}`, `a=ice-pwd:${ice.pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`,
    `a=setup:${setup}`, `a=mid:${mid}`, 'a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid', `a=${direction}`];
  if (msid && direction !== 'recvonly' && direction !== 'inactive') l.push(`a=msid:${msid.stream} ${msid.track}`);
  l.push('a=rtcp-mux');
  if (kind === 'video') l.push('a=rtcp-rsize');
  for (const c of codecs) {
    l.push(`a=rtpmap:${c.pt} ${c.name}`);
    for (const fb of c.fb ?? []) l.push(`a=rtcp-fb:${c.pt} ${fb}`);
    if (c.fmtp) l.push(`a=fmtp:${c.pt} ${c.fmtp}`);
  }
  if (msid && direction !== 'recvonly' && direction !== 'inactive') {
    const s = ssrc();
    const rtx = codecs.some((c) => /rtx/.test(c.name)) ? ssrc() : null;
    if (rtx) l.push(`a=ssrc-group:FID ${s} ${rtx}`);
    for (const x of rtx ? [s, rtx] : [s]) {
      l.push(`a=ssrc:${x} cname:e2e${msid.stream.slice(0, 8)}`, `a=ssrc:${x} msid:${msid.stream} ${msid.track}`);
    }
  }
  return l;
}

const OPUS = { pt: 111, name: 'opus/48000/2', fb: ['transport-cc'], fmtp: 'minptime=10;useinbandfec=1;usedtx=1;stereo=0;sprop-stereo=0' };
// Firefox's payload types (Opus 109, VP8 120 + RTX 124; no H.264 without OpenH264).
const FIREFOX_OPUS = { ...OPUS, pt: 109 };
const FIREFOX_VP8 = { pt: 120, name: 'VP8/90000', fb: ['nack', 'nack pli', 'ccm fir', 'goog-remb', 'transport-cc'] };
const FIREFOX_VP8_RTX = { pt: 124, name: 'rtx/90000', fmtp: 'apt=120' };
const VIDEO_FB = ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli'];
const H264 = { pt: 102, name: 'H264/90000', fb: VIDEO_FB, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' };
const H264_RTX = { pt: 103, name: 'rtx/90000', fmtp: 'apt=102' };
const VP8 = { pt: 96, name: 'VP8/90000', fb: VIDEO_FB };
const VP8_RTX = { pt: 97, name: 'rtx/90000', fmtp: 'apt=96' };

/**
 * A publisher's offer. Options: audio (true), video ('h264' | 'vp8' | 'both' | 'firefox' | false; default 'h264';
 * 'both' lists VP8 first like Chromium; 'firefox': Firefox without OpenH264, Opus 109 and VP8 120 only),
 * data (true), direction ('sendrecv'), setup ('actpass').
 */
export function offerSdp({ audio = true, video = 'h264', data = true, direction = 'sendrecv', setup = 'actpass' } = {}) {
  const ice = iceCreds();
  const fp = fingerprint();
  const stream = randomBytes(8).toString('hex');
  const sections = [];
  const mids = [];
  let mid = 0;
  if (audio) {
    sections.push(mediaSection({ kind: 'audio', mid: String(mid), direction, ice, fp, setup,
      codecs: [video === 'firefox' ? FIREFOX_OPUS : OPUS],
      msid: { stream, track: randomBytes(8).toString('hex') } }));
    mids.push(String(mid++));
  }
  if (video) {
    const codecs = video === 'vp8' ? [VP8, VP8_RTX] : video === 'both' ? [VP8, VP8_RTX, H264, H264_RTX]
      : video === 'firefox' ? [FIREFOX_VP8, FIREFOX_VP8_RTX] : [H264, H264_RTX];
    sections.push(mediaSection({ kind: 'video', mid: String(mid), direction, ice, fp, setup, codecs,
      msid: { stream, track: randomBytes(8).toString('hex') } }));
    mids.push(String(mid++));
  }
  if (data) {
    sections.push(['m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
      `a=ice-ufrag:${ice.ufrag}`, `a=ice-pwd:${ice.pwd}`, 'a=ice-options:trickle', `a=fingerprint:sha-256 ${fp}`,
      `a=setup:${setup}`, `a=mid:${mid}`, 'a=sctp-port:5000', 'a=max-message-size:262144']);
    mids.push(String(mid++));
  }
  const head = ['v=0', `o=- ${BigInt('0x' + randomBytes(7).toString('hex'))} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0',
    `a=group:BUNDLE ${mids.join(' ')}`, 'a=extmap-allow-mixed', `a=msid-semantic: WMS ${stream}`];
  return [...head, ...sections.flat()].join(CRLF) + CRLF;
}

export const dataOnlyOffer = () => offerSdp({ audio: false, video: false, data: true });
export const audioOnlyOffer = () => offerSdp({ audio: true, video: false, data: true });
export const vp8Offer = () => offerSdp({ video: 'vp8' });

/** { type: 'offer', sdp } for a publisher offer with the given options. */
export const offerJsep = (opts) => ({ type: 'offer', sdp: offerSdp(opts) });

/**
 * A subscriber's answer to an offer received from the plugin: every m-line accepted recvonly with the first
 * payload type, data channel kept, mids copied. Options: direction ('recvonly'; 'sendonly' for a publisher
 * answering the plugin's offer), videoPt (the video payload type to accept instead of the first; null: refuse
 * the video m-line, as a browser without any of the offered codecs does).
 */
export function answerSdp(offer, { direction = 'recvonly', videoPt } = {}) {
  const ice = iceCreds();
  const fp = fingerprint();
  const lines = offer.split(/\r?\n/).filter(Boolean);
  const out = ['v=0', `o=- ${BigInt('0x' + randomBytes(7).toString('hex'))} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0'];
  const group = lines.find((l) => l.startsWith('a=group:BUNDLE'));
  if (group) out.push(group);
  let cur = null;
  const flush = () => {
    if (!cur) return;
    const [m, ...rest] = cur;
    const parts = m.split(' ');
    const kind = parts[0].slice(2);
    const port = parts[1];
    const mid = rest.find((l) => l.startsWith('a=mid:'));
    if (kind === 'application') {
      out.push(`m=application ${port === '0' ? 0 : 9} ${parts[2]} ${parts.slice(3).join(' ')}`, 'c=IN IP4 0.0.0.0');
      out.push(`a=ice-ufrag:${ice.ufrag}`, `a=ice-pwd:${ice.pwd}`, `a=fingerprint:sha-256 ${fp}`, 'a=setup:active');
      if (mid) out.push(mid);
      for (const l of rest) if (/^a=(sctp-port|sctpmap|max-message-size)/.test(l)) out.push(l);
    } else {
      const pt = kind === 'video' && videoPt !== undefined ? videoPt ?? parts[3] : parts[3];
      const refused = port === '0' || (kind === 'video' && videoPt === null);
      out.push(`m=${kind} ${refused ? 0 : 9} ${parts[2]} ${pt}`, 'c=IN IP4 0.0.0.0');
      out.push(`a=ice-ufrag:${ice.ufrag}`, `a=ice-pwd:${ice.pwd}`, `a=fingerprint:sha-256 ${fp}`, 'a=setup:active');
      if (mid) out.push(mid);
      out.push(refused ? 'a=inactive' : `a=${direction}`, 'a=rtcp-mux');
      for (const l of rest) {
        if (l.startsWith(`a=rtpmap:${pt} `) || l.startsWith(`a=fmtp:${pt} `) || l.startsWith(`a=rtcp-fb:${pt} `)) out.push(l);
      }
    }
    cur = null;
  };
  for (const l of lines) {
    if (l.startsWith('m=')) {
      flush();
      cur = [l];
    } else if (cur) {
      cur.push(l);
    }
  }
  flush();
  return out.join(CRLF) + CRLF;
}

/** Parses an SDP into { media: [{ kind, port, proto, pts, direction, rtpmap: {pt: name}, fmtp: {pt: str}, mid }] }. */
export function parseSdp(sdp) {
  const media = [];
  let cur = null;
  for (const l of sdp.split(/\r?\n/)) {
    if (l.startsWith('m=')) {
      const [kind, port, proto, ...pts] = l.slice(2).split(' ');
      cur = { kind, port: Number(port), proto, pts, direction: null, rtpmap: {}, fmtp: {}, mid: null, lines: [] };
      media.push(cur);
    } else if (cur) {
      cur.lines.push(l);
      let m;
      if ((m = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(l))) cur.direction = m[1];
      else if ((m = /^a=rtpmap:(\d+) (.*)$/.exec(l))) cur.rtpmap[m[1]] = m[2];
      else if ((m = /^a=fmtp:(\d+) (.*)$/.exec(l))) cur.fmtp[m[1]] = m[2];
      else if ((m = /^a=mid:(.*)$/.exec(l))) cur.mid = m[1];
    }
  }
  return { media };
}
