// jwt.mjs - RSA keys made by the openssl CLI at test time and RS512 tokens signed with Node's crypto
// (an implementation independent of the plugin's verifier).
//
//   const keys = makeKeys();                       // { dir, pkcs1Der, pem, privateKey, jwks(kid) }
//   const t = mint(keys, { room_ids: ['r'], join_hub: true }, { ttl: 60 });
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** A fresh 2048-bit RSA key pair in a temp dir: private PEM, public DER PKCS#1, public PEM. */
export function makeKeys(bits = 2048) {
  const dir = mkdtempSync(join(process.env.SFU_E2E_TMP ?? tmpdir(), 'sfu-e2e-keys-'));
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pem = join(dir, 'private.pem');
  openssl('genrsa', '-out', pem, String(bits));
  openssl('rsa', '-in', pem, '-RSAPublicKey_out', '-outform', 'DER', '-out', join(dir, 'public.der'));
  openssl('rsa', '-in', pem, '-pubout', '-out', join(dir, 'public.pem'));
  const privateKey = crypto.createPrivateKey(readFileSync(pem));
  return {
    dir,
    privatePem: pem,
    pkcs1Der: readFileSync(join(dir, 'public.der')),
    publicPem: readFileSync(join(dir, 'public.pem'), 'utf8'),
    privateKey,
  };
}

/** An RS512 JWT with `claims`; exp = now + ttl unless claims has exp. header extras via opts.header. */
export function mint(keys, claims = {}, { ttl = 300, header = {} } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = { exp: now + ttl, ...claims };
  const head = { alg: 'RS512', typ: 'JWT', ...header };
  const input = `${b64url(JSON.stringify(head))}.${b64url(JSON.stringify(body))}`;
  const sig = crypto.sign('sha512', Buffer.from(input), keys.privateKey);
  return `${input}.${b64url(sig)}`;
}

/** A join token for `rooms` (array or null = any room). */
export const joinToken = (keys, rooms, extra = {}, opts = {}) =>
  mint(keys, { join_hub: true, room_ids: rooms, ...extra }, opts);

/**
 * A perms token shaped as Reticulum (Mozilla Hubs' backend, Guardian) mints it: RS512, aud "ret_perms",
 * iss "ret", typ "access", a fresh jti, iat, nbf = iat - 1, exp = iat + 300, sub "<account_id>_<hub>" (the
 * account id is empty for anonymous visitors, so they all share one sub), boolean perms, and no room_ids.
 * skew: seconds the issuer's clock is ahead of ours (negative: behind).
 */
export function reticulumToken(keys, hub, { accountId = '', skew = 0, ttl = 300, perms = {} } = {}) {
  const iat = Math.floor(Date.now() / 1000) + skew;
  return mint(keys, {
    aud: 'ret_perms', iss: 'ret', typ: 'access', jti: crypto.randomUUID(), iat, nbf: iat - 1, exp: iat + ttl,
    sub: `${accountId}_${hub}`, account_id: accountId, hub_id: hub,
    join_hub: true, kick_users: false, mute_users: false, update_hub: false, close_hub: false, embed_hub: false,
    spawn_camera: true, spawn_drawing: true, spawn_and_move_media: true, pin_objects: false, spawn_emoji: true,
    fly: true, amplify_audio: false, ...perms,
  });
}
