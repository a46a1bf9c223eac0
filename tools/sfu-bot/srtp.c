/*! \file srtp.c
 * \brief sfu-bot: SRTP with OpenSSL (AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM)
 * \details Debian's libsrtp2 is built on NSS, which sets up a cipher context for
 * every packet (about 4 us per packet here). SRTP is done here instead, with
 * OpenSSL contexts keyed once per direction: RFC 3711 AES-CM key derivation with
 * kdr 0 (for GCM the 12-byte master salt is zero-padded to 14 bytes, as libsrtp2
 * does), then either AES-128 counter mode + HMAC-SHA1-80 over the packet and the
 * ROC (RFC 3711) or AES-128-GCM with the header as AAD (RFC 7714). Receiving also
 * estimates the ROC per SSRC and keeps a 1024-packet replay window, as libsrtp2
 * does; the sender passes the ROC it counts from its own sequence numbers. The
 * output is byte for byte what libsrtp2 produces: tests/unit/test-bot-srtp.c
 * checks it across a sequence-number wrap for both profiles, with the RFC 3711
 * and RFC 7714 test vectors besides.
 */
#include "srtp.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <string.h>

#define CM_TAG      10 /* HMAC-SHA1-80 */
#define GCM_TAG     16
#define STREAMS_MAX 8

/* =============================================================================
 * Contexts and key derivation
 * ==========================================================================*/

typedef struct stream_state {
	gboolean used;
	guint32 ssrc;
	guint32 roc;
	guint16 s_l;                       /* highest sequence number authenticated */
	guint64 win[BOT_SRTP_WINDOW / 64]; /* bit k: index (roc:s_l) - k seen */
} stream_state;

struct bot_srtp {
	gboolean gcm;
	EVP_CIPHER_CTX *aes;
	EVP_MAC_CTX *hmac; /* AES-CM only */
	guint8 salt[14];   /* 12 bytes used for GCM */
	stream_state st[STREAMS_MAX];
};

/* RFC 3711 4.3.3: AES-CM PRF with kdr = 0 */
gboolean bot_srtp_kdf(const guint8 *mkey, const guint8 *msalt, guint8 label, guint8 *out, int len) {
	guint8 iv[16] = {0}, zeros[32] = {0};
	if(len < 0 || len > (int)sizeof(zeros))
		return FALSE;
	memcpy(iv, msalt, 14);
	iv[7] ^= label;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ol = 0;
	gboolean ok = c != NULL && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, mkey, iv) == 1 &&
				  EVP_EncryptUpdate(c, out, &ol, zeros, len) == 1 && ol == len;
	EVP_CIPHER_CTX_free(c);
	return ok;
}

void bot_srtp_free(bot_srtp *o) {
	if(o == NULL)
		return;
	EVP_CIPHER_CTX_free(o->aes);
	EVP_MAC_CTX_free(o->hmac);
	OPENSSL_cleanse(o, sizeof(*o));
	g_free(o);
}

bot_srtp *bot_srtp_new_session(
	const guint8 *ek, const guint8 *ak, const guint8 *salt, gboolean gcm, gboolean enc) {
	bot_srtp *o = g_new0(bot_srtp, 1);
	o->gcm = gcm;
	memcpy(o->salt, salt, gcm ? 12 : 14);
	o->aes = EVP_CIPHER_CTX_new();
	gboolean ok = o->aes != NULL;
	if(ok && gcm) {
		ok = EVP_CipherInit_ex(o->aes, EVP_aes_128_gcm(), NULL, ek, NULL, enc ? 1 : 0) == 1;
	} else if(ok) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA1", 0), OSSL_PARAM_construct_end()};
		o->hmac = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		ok = o->hmac != NULL && ak != NULL &&
			 EVP_CipherInit_ex(o->aes, EVP_aes_128_ctr(), NULL, ek, NULL, enc ? 1 : 0) == 1 &&
			 EVP_MAC_init(o->hmac, ak, 20, params) == 1;
	}
	if(!ok) {
		bot_srtp_free(o);
		return NULL;
	}
	return o;
}

bot_srtp *bot_srtp_new(const guint8 *key, gboolean gcm, gboolean enc) {
	guint8 ek[16], ak[20], salt[14], msalt[14] = {0};
	memcpy(msalt, key + 16, gcm ? 12 : 14);
	gboolean ok = bot_srtp_kdf(key, msalt, 0x00, ek, 16) &&
				  bot_srtp_kdf(key, msalt, 0x02, salt, gcm ? 12 : 14) &&
				  (gcm || bot_srtp_kdf(key, msalt, 0x01, ak, 20));
	bot_srtp *o = ok ? bot_srtp_new_session(ek, gcm ? NULL : ak, salt, gcm, enc) : NULL;
	OPENSSL_cleanse(msalt, sizeof(msalt));
	OPENSSL_cleanse(ek, sizeof(ek));
	OPENSSL_cleanse(ak, sizeof(ak));
	OPENSSL_cleanse(salt, sizeof(salt));
	return o;
}

/* =============================================================================
 * Protect and unprotect
 * ==========================================================================*/

static void win_shift(guint64 *w, guint32 shift) {
	if(shift >= BOT_SRTP_WINDOW) {
		memset(w, 0, BOT_SRTP_WINDOW / 8);
		return;
	}
	guint32 ws = shift / 64, bs = shift % 64;
	for(int i = BOT_SRTP_WINDOW / 64 - 1; i >= 0; i--) {
		guint64 v = 0;
		if(i >= (int)ws) {
			v = w[i - (int)ws] << bs;
			if(bs != 0 && i - (int)ws - 1 >= 0)
				v |= w[i - (int)ws - 1] >> (64 - bs);
		}
		w[i] = v;
	}
}

/* RFC 7714 AEAD_AES_128_GCM IV: salt ^ (00 00 || SSRC || ROC || SEQ); idx = ROC << 16 | SEQ. */
static void gcm_iv(const bot_srtp *o, const guint8 *p, guint64 idx, guint8 iv[12]) {
	memset(iv, 0, 12);
	memcpy(iv + 2, p + 8, 4);
	for(int i = 0; i < 6; i++)
		iv[6 + i] = (guint8)(idx >> (8 * (5 - i)));
	for(int i = 0; i < 12; i++)
		iv[i] ^= o->salt[i];
}

/* RFC 3711 AES-CM IV: salt*2^16 ^ SSRC*2^64 ^ index*2^16. */
static void cm_iv(const bot_srtp *o, const guint8 *p, guint64 idx, guint8 iv[16]) {
	memset(iv, 0, 16);
	memcpy(iv, o->salt, 14);
	for(int i = 0; i < 4; i++)
		iv[4 + i] ^= p[8 + i];
	for(int i = 0; i < 6; i++)
		iv[8 + i] ^= (guint8)(idx >> (8 * (5 - i)));
}

/* RFC 3711 authentication tag: HMAC-SHA1(packet[0..n) || ROC); the first CM_TAG bytes of mac are used. */
static gboolean cm_mac(bot_srtp *o, const guint8 *p, int n, guint32 roc, guint8 mac[20]) {
	guint8 roc_be[4] = {(guint8)(roc >> 24), (guint8)(roc >> 16), (guint8)(roc >> 8), (guint8)roc};
	size_t ml = 0;
	return EVP_MAC_init(o->hmac, NULL, 0, NULL) == 1 && EVP_MAC_update(o->hmac, p, (size_t)n) == 1 &&
		   EVP_MAC_update(o->hmac, roc_be, 4) == 1 && EVP_MAC_final(o->hmac, mac, &ml, 20) == 1;
}

/* Protects an RTP packet (12-byte header, as bot_pc_send builds it) in place;
 * the buffer has room for the 16-byte trailer. roc: the sender's rollover counter. */
gboolean bot_srtp_protect(bot_srtp *o, guint8 *p, int *len, guint32 roc) {
	int n = *len, hl = 12 + 4 * (p[0] & 0x0f), body = n - hl, ol = 0;
	if(body < 0 || (p[0] & 0x10))
		return FALSE;
	guint64 idx = ((guint64)roc << 16) | (guint64)((p[2] << 8) | p[3]);
	if(o->gcm) {
		guint8 iv[12];
		gcm_iv(o, p, idx, iv);
		if(EVP_EncryptInit_ex(o->aes, NULL, NULL, NULL, iv) != 1 ||
			EVP_EncryptUpdate(o->aes, NULL, &ol, p, hl) != 1 ||
			(body > 0 && EVP_EncryptUpdate(o->aes, p + hl, &ol, p + hl, body) != 1) ||
			EVP_EncryptFinal_ex(o->aes, p + n, &ol) != 1 ||
			EVP_CIPHER_CTX_ctrl(o->aes, EVP_CTRL_GCM_GET_TAG, GCM_TAG, p + n) != 1)
			return FALSE;
		*len = n + GCM_TAG;
		return TRUE;
	}
	guint8 iv[16];
	cm_iv(o, p, idx, iv);
	guint8 mac[20];
	if(EVP_EncryptInit_ex(o->aes, NULL, NULL, NULL, iv) != 1 ||
		(body > 0 && EVP_EncryptUpdate(o->aes, p + hl, &ol, p + hl, body) != 1) || !cm_mac(o, p, n, roc, mac))
		return FALSE;
	memcpy(p + n, mac, CM_TAG);
	*len = n + CM_TAG;
	return TRUE;
}

/* Unprotects an SRTP packet in place; *len becomes the RTP length. */
gboolean bot_srtp_unprotect(bot_srtp *o, guint8 *p, int *len) {
	int n = *len, tag = o->gcm ? GCM_TAG : CM_TAG;
	if(n < 12 + tag)
		return FALSE;
	int hl = 12 + 4 * (p[0] & 0x0f);
	if((p[0] & 0x10) && hl + 4 <= n - tag)
		hl += 4 + 4 * ((p[hl + 2] << 8) | p[hl + 3]);
	if(hl > n - tag)
		return FALSE;
	guint16 seq = (guint16)((p[2] << 8) | p[3]);
	guint32 ssrc = ((guint32)p[8] << 24) | ((guint32)p[9] << 16) | ((guint32)p[10] << 8) | p[11];
	stream_state *s = NULL;
	for(int i = 0; i < STREAMS_MAX; i++) {
		if(o->st[i].used && o->st[i].ssrc == ssrc) {
			s = &o->st[i];
			break;
		}
	}
	gboolean fresh = s == NULL;
	stream_state tmp;
	if(fresh) { /* like libsrtp's ssrc_any_inbound: a new stream at ROC 0 */
		memset(&tmp, 0, sizeof(tmp));
		tmp.ssrc = ssrc;
		tmp.s_l = seq;
		s = &tmp;
	}
	/* RFC 3711 3.3.1: guess the ROC */
	guint32 v = s->roc;
	if(!fresh) {
		if(s->s_l < 32768) {
			if(seq > s->s_l && seq - s->s_l > 32768 && s->roc > 0)
				v = s->roc - 1;
		} else if(seq < s->s_l - 32768) {
			v = s->roc + 1;
		}
	}
	guint64 idx = ((guint64)v << 16) | seq, top = ((guint64)s->roc << 16) | s->s_l;
	if(!fresh && idx <= top) {
		guint64 back = top - idx;
		if(back >= BOT_SRTP_WINDOW || (s->win[back / 64] >> (back % 64)) & 1)
			return FALSE; /* too old, or replayed */
	}
	if(o->gcm) { /* RFC 7714: IV = salt ^ (00 00 || SSRC || ROC || SEQ), AAD = header */
		guint8 iv[12];
		gcm_iv(o, p, idx, iv);
		int ol = 0, body = n - tag - hl;
		if(EVP_DecryptInit_ex(o->aes, NULL, NULL, NULL, iv) != 1 ||
			EVP_DecryptUpdate(o->aes, NULL, &ol, p, hl) != 1 ||
			(body > 0 && EVP_DecryptUpdate(o->aes, p + hl, &ol, p + hl, body) != 1) ||
			EVP_CIPHER_CTX_ctrl(o->aes, EVP_CTRL_GCM_SET_TAG, GCM_TAG, p + n - tag) != 1 ||
			EVP_DecryptFinal_ex(o->aes, p + n - tag, &ol) != 1)
			return FALSE;
		goto accepted;
	}
	/* authentication: HMAC-SHA1(packet || ROC), 80 bits */
	guint8 mac[20];
	if(!cm_mac(o, p, n - CM_TAG, v, mac) || CRYPTO_memcmp(mac, p + n - CM_TAG, CM_TAG) != 0)
		return FALSE;
	/* decryption: IV = salt*2^16 ^ SSRC*2^64 ^ index*2^16 */
	guint8 iv[16];
	cm_iv(o, p, idx, iv);
	int ol = 0, body = n - CM_TAG - hl;
	if(EVP_DecryptInit_ex(o->aes, NULL, NULL, NULL, iv) != 1 ||
		(body > 0 && (EVP_DecryptUpdate(o->aes, p + hl, &ol, p + hl, body) != 1 || ol != body)))
		return FALSE;
accepted:
	if(fresh) {
		int i = 0;
		while(i < STREAMS_MAX && o->st[i].used)
			i++;
		if(i == STREAMS_MAX)
			i = (int)(ssrc % STREAMS_MAX); /* more SSRCs than expected: recycle a slot */
		o->st[i] = tmp;
		s = &o->st[i];
		s->used = TRUE;
		s->win[0] = 1;
	} else if(idx > top) {
		win_shift(s->win, (guint32)MIN(idx - top, (guint64)BOT_SRTP_WINDOW));
		s->win[0] |= 1;
		s->roc = v;
		s->s_l = seq;
	} else {
		guint64 back = top - idx;
		s->win[back / 64] |= (guint64)1 << (back % 64);
	}
	*len = n - tag;
	return TRUE;
}
