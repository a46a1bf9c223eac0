/*! \file    test-bot-srtp.c
 * \brief    Unit tests for sfu-bot's SRTP with OpenSSL (tools/sfu-bot/srtp.c): the RFC known answers,
 *           and byte for byte agreement with libsrtp2 across a sequence-number wrap, both profiles.
 * \details  Known answers, typed from the RFC text (the values were cross-read against several
 *           independent public copies; the keystream's last three blocks are also NIST SP 800-38A F.5.1):
 *           - RFC 3711 Appendix B.2: AES-CM keystream, session key 2B7E..., salt F0F1...FD, SSRC 0,
 *             index 0; the first three and the last three of its 0xFF02 blocks;
 *           - RFC 3711 Appendix B.3: key derivation (cipher key, cipher salt, first 20 bytes of the
 *             auth key) from master key E1F9... and master salt 0EC6...;
 *           - RFC 7714 section 16.1.1: AEAD_AES_128_GCM SRTP protection of the "Gallia est omnis
 *             divisa in partes tres" packet (key 00..0f, salt "Quid pro quo"), its unprotection,
 *             and tampered tags and ciphertext rejected.
 *           Then libsrtp2 (srtp_protect/srtp_unprotect, ssrc_any_outbound/inbound, window 1024,
 *           the policies sfu-bot's pc.c sets) against ours, for AES_CM_128_HMAC_SHA1_80 and
 *           AEAD_AES_128_GCM.
 */
#include <string.h>
#include <glib.h>
#include <srtp2/srtp.h>

#include "srtp.h"

/* Decodes hex, skipping blanks; returns the byte count. */
static int unhex(const char *s, guint8 *out, int max) {
	int n = 0, hi = -1;
	for(; *s != '\0'; s++) {
		if(g_ascii_isspace(*s))
			continue;
		int v = g_ascii_xdigit_value(*s);
		g_assert_cmpint(v, >=, 0);
		if(hi < 0) {
			hi = v;
			continue;
		}
		g_assert_cmpint(n, <, max);
		out[n++] = (guint8)(hi << 4 | v);
		hi = -1;
	}
	g_assert_cmpint(hi, ==, -1);
	return n;
}

static void assert_hex(const guint8 *got, int len, const char *want_hex) {
	guint8 want[256];
	int n = unhex(want_hex, want, sizeof(want));
	g_assert_cmpint(len, ==, n);
	g_assert_cmpmem(got, (gsize)len, want, (gsize)n);
}

/* =============================================================================
 * RFC 3711 Appendix B
 * ==========================================================================*/

/* B.3: key derivation with kdr 0. */
static void test_rfc3711_kdf(void) {
	guint8 mkey[16], msalt[14], out[20];
	unhex("E1F97A0D3E018BE0D64FA32C06DE4139", mkey, sizeof(mkey));
	unhex("0EC675AD498AFEEBB6960B3AABE6", msalt, sizeof(msalt));
	g_assert_true(bot_srtp_kdf(mkey, msalt, 0x00, out, 16));
	assert_hex(out, 16, "C61E7A93744F39EE10734AFE3FF7A087"); /* cipher key */
	g_assert_true(bot_srtp_kdf(mkey, msalt, 0x02, out, 14));
	assert_hex(out, 14, "30CBBC08863D8C85D49DB34A9AE1"); /* cipher salt */
	g_assert_true(bot_srtp_kdf(mkey, msalt, 0x01, out, 20));
	assert_hex(out, 20, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"); /* auth key, the 160 bits SHA1-80 uses */
}

/* B.2: the keystream is what protect XORs onto an all-zero payload (SSRC 0, ROC 0, sequence number 0). */
static void test_rfc3711_keystream(void) {
	enum { BLOCKS = 0xff02, HDR = 12 };
	guint8 ek[16], salt[14], ak[20] = {0};
	unhex("2B7E151628AED2A6ABF7158809CF4F3C", ek, sizeof(ek));
	unhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD", salt, sizeof(salt));
	bot_srtp *tx = bot_srtp_new_session(ek, ak, salt, FALSE, TRUE);
	g_assert_nonnull(tx);
	guint8 *p = g_malloc0(HDR + BLOCKS * 16 + BOT_SRTP_MAX_TRAILER);
	p[0] = 0x80;
	int len = HDR + BLOCKS * 16;
	g_assert_true(bot_srtp_protect(tx, p, &len, 0));
	g_assert_cmpint(len, ==, HDR + BLOCKS * 16 + 10);
	assert_hex(p + HDR, 48,
		"E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0");
	assert_hex(p + HDR + 0xfeff * 16, 48,
		"EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44");
	g_free(p);
	bot_srtp_free(tx);
}

/* =============================================================================
 * RFC 7714 section 16.1.1: AEAD_AES_128_GCM
 * ==========================================================================*/

#define GCM_KEY  "000102030405060708090a0b0c0d0e0f"
#define GCM_SALT "517569642070726f2071756f" /* "Quid pro quo" */
#define GCM_PLAIN                                                                                            \
	"8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465 "    \
	"73207472 6573"
#define GCM_SEALED                                                                                           \
	"8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b "    \
	"36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce"

static bot_srtp *gcm_vector_ctx(gboolean enc) {
	guint8 ek[16], salt[12];
	unhex(GCM_KEY, ek, sizeof(ek));
	unhex(GCM_SALT, salt, sizeof(salt));
	bot_srtp *c = bot_srtp_new_session(ek, NULL, salt, TRUE, enc);
	g_assert_nonnull(c);
	return c;
}

static void test_rfc7714_protect(void) {
	guint8 p[128];
	int len = unhex(GCM_PLAIN, p, sizeof(p) - BOT_SRTP_MAX_TRAILER);
	g_assert_cmpint(len, ==, 12 + 38);
	bot_srtp *tx = gcm_vector_ctx(TRUE);
	g_assert_true(bot_srtp_protect(tx, p, &len, 0));
	assert_hex(p, len, GCM_SEALED);
	bot_srtp_free(tx);
}

static void test_rfc7714_unprotect(void) {
	guint8 sealed[128], p[128], plain[128];
	int sealed_len = unhex(GCM_SEALED, sealed, sizeof(sealed)),
		plain_len = unhex(GCM_PLAIN, plain, sizeof(plain));
	bot_srtp *rx = gcm_vector_ctx(FALSE);
	/* a flipped bit in the tag, in the ciphertext or in the header (AAD): rejected, and nothing learnt */
	const int flips[] = {sealed_len - 1, sealed_len - 16, 12, 20, 1, 11};
	for(guint i = 0; i < G_N_ELEMENTS(flips); i++) {
		memcpy(p, sealed, (size_t)sealed_len);
		p[flips[i]] ^= 0x01;
		int len = sealed_len;
		g_assert_false(bot_srtp_unprotect(rx, p, &len));
	}
	/* a truncated tag */
	memcpy(p, sealed, (size_t)sealed_len);
	int len = sealed_len - 1;
	g_assert_false(bot_srtp_unprotect(rx, p, &len));
	/* the packet itself */
	memcpy(p, sealed, (size_t)sealed_len);
	len = sealed_len;
	g_assert_true(bot_srtp_unprotect(rx, p, &len));
	g_assert_cmpmem(p, (gsize)len, plain, (gsize)plain_len);
	/* and once only */
	memcpy(p, sealed, (size_t)sealed_len);
	len = sealed_len;
	g_assert_false(bot_srtp_unprotect(rx, p, &len));
	bot_srtp_free(rx);
}

/* =============================================================================
 * Against libsrtp2
 * ==========================================================================*/

#define MAX_PKT (12 + 8 + 8 + 400 + SRTP_MAX_TRAILER_LEN)

typedef struct pkt {
	guint32 ssrc;
	guint16 seq;
	gboolean ext; /* header extension: libsrtp2 protects it, ours refuses (the bot never sends one) */
	int rtp_len;  /* the RTP packet */
	int srtp_len; /* protected */
	guint8 rtp[MAX_PKT], ours[MAX_PKT], theirs[MAX_PKT];
} pkt;

static srtp_t libsrtp_ctx(const guint8 *key, gboolean gcm, gboolean outbound) {
	srtp_policy_t pol;
	memset(&pol, 0, sizeof(pol));
	if(gcm) { /* as sfu-bot's pc.c sets them */
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
	} else {
		srtp_crypto_policy_set_rtp_default(&pol.rtp);
		srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	}
	pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
	pol.key = (unsigned char *)key;
	pol.window_size = BOT_SRTP_WINDOW;
	srtp_t ctx = NULL;
	g_assert_cmpint(srtp_create(&ctx, &pol), ==, srtp_err_status_ok);
	return ctx;
}

/* An RTP packet: 0-2 CSRCs, maybe an extension, a payload of some length and content. */
static void build_rtp(pkt *k, guint32 ssrc, guint16 seq, int i) {
	guint8 *p = k->rtp;
	int cc = i % 7 == 3 ? 2 : (i % 5 == 1 ? 1 : 0);
	k->ssrc = ssrc;
	k->seq = seq;
	k->ext = i % 97 == 50;
	p[0] = (guint8)(0x80 | (k->ext ? 0x10 : 0) | cc);
	p[1] = (guint8)(i % 2 ? 111 : 96);
	p[2] = (guint8)(seq >> 8);
	p[3] = (guint8)seq;
	guint32 ts = 1000u + 960u * (guint32)i;
	for(int b = 0; b < 4; b++) {
		p[4 + b] = (guint8)(ts >> (24 - 8 * b));
		p[8 + b] = (guint8)(ssrc >> (24 - 8 * b));
	}
	int off = 12;
	for(int c = 0; c < cc; c++, off += 4)
		memset(p + off, 0xc0 + c, 4);
	if(k->ext) { /* one-byte header extension (RFC 8285), one word */
		const guint8 ext[8] = {0xbe, 0xde, 0x00, 0x01, 0x10, 0xab, 0x00, 0x00};
		memcpy(p + off, ext, sizeof(ext));
		off += sizeof(ext);
	}
	int body = 1 + (i * 37) % 400;
	for(int b = 0; b < body; b++)
		p[off + b] = (guint8)(i * 13 + b);
	k->rtp_len = off + body;
}

/* Two SSRCs, both starting just below the sequence-number wrap: A runs 1100 packets (ROC 0 -> 1, then
 * more than the replay window past it), B 40 packets interleaved with A's first ones. */
static GArray *make_stream(void) {
	GArray *a = g_array_new(FALSE, TRUE, sizeof(pkt));
	guint16 seq_a = 65470, seq_b = 65530;
	for(int i = 0; i < 1100; i++) {
		g_array_set_size(a, a->len + 1);
		build_rtp(&g_array_index(a, pkt, a->len - 1), 0x11223344u, seq_a++, i);
		if(i < 40) {
			g_array_set_size(a, a->len + 1);
			build_rtp(&g_array_index(a, pkt, a->len - 1), 0x55667788u, seq_b++, 1000 + i);
		}
	}
	return a;
}

static guint find(GArray *a, guint32 ssrc, guint16 seq) {
	for(guint i = 0; i < a->len; i++) {
		if(g_array_index(a, pkt, i).ssrc == ssrc && g_array_index(a, pkt, i).seq == seq)
			return i;
	}
	g_assert_not_reached();
	return 0;
}

static void swap(guint *order, guint i, guint j) {
	guint t = order[i];
	order[i] = order[j];
	order[j] = t;
}

/* Arrival order: as sent, but for reordering around both wraps (a ROC-1 packet after ROC-0 ones arrive,
 * and the reverse) and one packet 40 behind, across A's wrap. */
static guint *make_order(GArray *a) {
	guint *order = g_new(guint, a->len);
	for(guint i = 0; i < a->len; i++)
		order[i] = i;
	swap(order, find(a, 0x11223344u, 65535), find(a, 0x11223344u, 0));
	swap(order, find(a, 0x11223344u, 65534), find(a, 0x11223344u, 2));
	swap(order, find(a, 0x55667788u, 65535), find(a, 0x55667788u, 1));
	guint late = find(a, 0x11223344u, 65520), now = find(a, 0x11223344u, 30);
	guint moved = order[late];
	memmove(order + late, order + late + 1, (now - late) * sizeof(guint));
	order[now] = moved;
	return order;
}

/* Unprotects one packet on both receivers: ours gets libsrtp2's bytes, libsrtp2 gets ours. */
static void receive_both(bot_srtp *ours, srtp_t theirs, const pkt *k) {
	guint8 a[MAX_PKT], b[MAX_PKT];
	memcpy(a, k->theirs, (size_t)k->srtp_len);
	memcpy(b, k->ours, (size_t)k->srtp_len);
	int la = k->srtp_len, lb = k->srtp_len;
	g_assert_true(bot_srtp_unprotect(ours, a, &la));
	g_assert_cmpmem(a, (gsize)la, k->rtp, (gsize)k->rtp_len);
	g_assert_cmpint(srtp_unprotect(theirs, b, &lb), ==, srtp_err_status_ok);
	g_assert_cmpmem(b, (gsize)lb, k->rtp, (gsize)k->rtp_len);
}

/* A packet both receivers must refuse (replayed, too old, or tampered), without learning from it. */
static void refuse_both(bot_srtp *ours, srtp_t theirs, const guint8 *sealed, int len) {
	guint8 a[MAX_PKT], b[MAX_PKT];
	memcpy(a, sealed, (size_t)len);
	memcpy(b, sealed, (size_t)len);
	int la = len, lb = len;
	g_assert_false(bot_srtp_unprotect(ours, a, &la));
	g_assert_cmpint(srtp_unprotect(theirs, b, &lb), !=, srtp_err_status_ok);
}

static void cross_check(gboolean gcm) {
	guint8 key[16 + 14];
	for(guint i = 0; i < sizeof(key); i++)
		key[i] = (guint8)(0x5a ^ (i * 29));
	GArray *a = make_stream();
	/* sending: the ROC counted per SSRC as pc.c's bot_pc_send does */
	bot_srtp *our_tx = bot_srtp_new(key, gcm, TRUE);
	srtp_t their_tx = libsrtp_ctx(key, gcm, TRUE);
	g_assert_nonnull(our_tx);
	guint32 roc_a = 0, roc_b = 0;
	for(guint i = 0; i < a->len; i++) {
		pkt *k = &g_array_index(a, pkt, i);
		guint32 *roc = k->ssrc == 0x11223344u ? &roc_a : &roc_b;
		if(k->seq == 0)
			(*roc)++;
		memcpy(k->theirs, k->rtp, (size_t)k->rtp_len);
		int lt = k->rtp_len;
		g_assert_cmpint(srtp_protect(their_tx, k->theirs, &lt), ==, srtp_err_status_ok);
		memcpy(k->ours, k->rtp, (size_t)k->rtp_len);
		int lo = k->rtp_len;
		if(k->ext) {
			g_assert_false(bot_srtp_protect(our_tx, k->ours, &lo, *roc));
			memcpy(k->ours, k->theirs, (size_t)lt);
			lo = lt;
		} else {
			g_assert_true(bot_srtp_protect(our_tx, k->ours, &lo, *roc));
		}
		g_assert_cmpint(lo, ==, k->rtp_len + (gcm ? 16 : 10));
		g_assert_cmpmem(k->ours, (gsize)lo, k->theirs, (gsize)lt);
		k->srtp_len = lo;
	}
	g_assert_cmpuint(roc_a, ==, 1);
	g_assert_cmpuint(roc_b, ==, 1);

	/* receiving, reordered; before a few packets, a tampered copy of them; once A is 40 past its wrap,
	 * replays of the packets around both wraps (within the window) */
	bot_srtp *our_rx = bot_srtp_new(key, gcm, FALSE);
	srtp_t their_rx = libsrtp_ctx(key, gcm, FALSE);
	g_assert_nonnull(our_rx);
	guint *order = make_order(a);
	const guint near_wrap[] = {find(a, 0x11223344u, 65534), find(a, 0x11223344u, 65535),
		find(a, 0x11223344u, 0), find(a, 0x11223344u, 1), find(a, 0x55667788u, 65535),
		find(a, 0x55667788u, 0), find(a, 0x55667788u, 33)};
	guint after_wrap = find(a, 0x11223344u, 40);
	for(guint i = 0; i < a->len; i++) {
		const pkt *k = &g_array_index(a, pkt, order[i]);
		if(i % 50 == 10) {
			guint8 bad[MAX_PKT];
			memcpy(bad, k->ours, (size_t)k->srtp_len);
			bad[k->srtp_len - 1 - (int)(i % 20)] ^= 0x80;
			refuse_both(our_rx, their_rx, bad, k->srtp_len);
		}
		receive_both(our_rx, their_rx, k);
		if(order[i] == after_wrap) {
			for(guint r = 0; r < G_N_ELEMENTS(near_wrap); r++) {
				const pkt *o = &g_array_index(a, pkt, near_wrap[r]);
				refuse_both(our_rx, their_rx, o->ours, o->srtp_len);
			}
		}
	}
	/* at the end: replays of the last packet and of one 500 back; A's first fell out of the window */
	const guint replays[] = {a->len - 1, a->len - 500, 0};
	for(guint i = 0; i < G_N_ELEMENTS(replays); i++) {
		const pkt *k = &g_array_index(a, pkt, replays[i]);
		refuse_both(our_rx, their_rx, k->ours, k->srtp_len);
	}
	g_free(order);
	bot_srtp_free(our_tx);
	bot_srtp_free(our_rx);
	srtp_dealloc(their_tx);
	srtp_dealloc(their_rx);
	g_array_free(a, TRUE);
}

static void test_libsrtp_cm(void) {
	cross_check(FALSE);
}

static void test_libsrtp_gcm(void) {
	cross_check(TRUE);
}

int main(int argc, char **argv) {
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(srtp_init(), ==, srtp_err_status_ok);
	g_test_add_func("/bot-srtp/rfc3711/b3-key-derivation", test_rfc3711_kdf);
	g_test_add_func("/bot-srtp/rfc3711/b2-aes-cm-keystream", test_rfc3711_keystream);
	g_test_add_func("/bot-srtp/rfc7714/16.1.1-gcm-protect", test_rfc7714_protect);
	g_test_add_func("/bot-srtp/rfc7714/16.1.1-gcm-unprotect-and-tampering", test_rfc7714_unprotect);
	g_test_add_func("/bot-srtp/libsrtp2/aes-cm-sha1-80", test_libsrtp_cm);
	g_test_add_func("/bot-srtp/libsrtp2/aead-aes-128-gcm", test_libsrtp_gcm);
	int rc = g_test_run();
	srtp_shutdown();
	return rc;
}
