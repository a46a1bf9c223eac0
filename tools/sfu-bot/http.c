/*! \file http.c
 * \brief sfu-bot: Janus HTTP API over libcurl's multi interface, driven by GLib
 * \details libcurl's socket API (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION) is
 * wired to GLib fd and timeout sources, so hundreds of sessions share the one
 * main loop. Each Janus session keeps one long-poll GET open; a request's
 * asynchronous result is matched to it by transaction. Every request has a
 * timeout: nothing waits forever.
 */
#include "bot.h"

#include <curl/curl.h>
#include <glib-unix.h>
#include <string.h>

/* =============================================================================
 * libcurl on the GLib main loop
 * ==========================================================================*/

typedef void (*http_done_cb)(long status, const char *body, gsize len, const char *err, void *ud);

typedef struct http_req {
	CURL *easy;
	GString *body;
	struct curl_slist *headers;
	char *post;
	http_done_cb cb;
	void *ud;
} http_req;

static CURLM *multi;
static guint multi_timer;
static int in_flight;

static void http_check_done(void) {
	CURLMsg *m;
	int left;
	while((m = curl_multi_info_read(multi, &left)) != NULL) {
		if(m->msg != CURLMSG_DONE)
			continue;
		http_req *r = NULL;
		long status = 0;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		CURLcode rc = m->data.result;
		curl_multi_remove_handle(multi, m->easy_handle);
		curl_easy_cleanup(m->easy_handle);
		in_flight--;
		const char *err = rc == CURLE_OK ? NULL : (rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "http");
		r->cb(status, r->body->str, r->body->len, err, r->ud);
		g_string_free(r->body, TRUE);
		curl_slist_free_all(r->headers);
		g_free(r->post);
		g_free(r);
	}
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer ud) {
	(void)ud;
	int ev = 0, running = 0;
	if(cond & G_IO_IN)
		ev |= CURL_CSELECT_IN;
	if(cond & G_IO_OUT)
		ev |= CURL_CSELECT_OUT;
	if(cond & (G_IO_ERR | G_IO_HUP))
		ev |= CURL_CSELECT_ERR;
	curl_multi_socket_action(multi, fd, ev, &running);
	http_check_done();
	return G_SOURCE_CONTINUE;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
	(void)e;
	(void)userp;
	guint *src = socketp;
	if(src != NULL && *src != 0) {
		g_source_remove(*src);
		*src = 0;
	}
	if(what == CURL_POLL_REMOVE) {
		g_free(src);
		curl_multi_assign(multi, s, NULL);
		return 0;
	}
	if(src == NULL) {
		src = g_new0(guint, 1);
		curl_multi_assign(multi, s, src);
	}
	GIOCondition cond = 0;
	if(what & CURL_POLL_IN)
		cond |= G_IO_IN;
	if(what & CURL_POLL_OUT)
		cond |= G_IO_OUT;
	*src = g_unix_fd_add(s, cond, on_fd, NULL);
	return 0;
}

static gboolean on_multi_timer(gpointer ud) {
	(void)ud;
	int running = 0;
	multi_timer = 0;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done();
	return G_SOURCE_REMOVE;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp) {
	(void)m;
	(void)userp;
	if(multi_timer != 0) {
		g_source_remove(multi_timer);
		multi_timer = 0;
	}
	if(timeout_ms >= 0)
		multi_timer = g_timeout_add((guint)timeout_ms, on_multi_timer, NULL);
	return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud) {
	g_string_append_len(((http_req *)ud)->body, ptr, (gssize)(size * nmemb));
	return size * nmemb;
}

/* Starts a GET (post == NULL) or a JSON POST; cb runs on the main loop. */
static void http_request(const char *url, char *post, long timeout_ms, http_done_cb cb, void *ud) {
	http_req *r = g_new0(http_req, 1);
	r->easy = curl_easy_init();
	r->body = g_string_sized_new(512);
	r->cb = cb;
	r->ud = ud;
	r->post = post;
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(bot_opt.timeout_s * 1000));
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TCP_NODELAY, 1L);
	if(post != NULL) {
		r->headers = curl_slist_append(NULL, "Content-Type: application/json");
		curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, post);
	}
	in_flight++;
	curl_multi_add_handle(multi, r->easy);
}

void bot_http_init(void) {
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 4096L);
}

void bot_http_cleanup(void) {
	curl_multi_cleanup(multi);
	curl_global_cleanup();
}

int bot_http_in_flight(void) {
	return in_flight;
}

/* =============================================================================
 * Janus sessions
 * ==========================================================================*/

typedef struct pending {
	bot_session *s;
	char *transaction;
	bot_reply_cb cb;
	void *ud;
	guint timer;
	gboolean async; /* a message: the result comes on the long-poll */
} pending;

typedef struct listener {
	bot_handle_cb cb;
	void *ud;
} listener;

struct bot_session {
	guint64 id;
	char *url;             /* <base>/<id> once created */
	GHashTable *pending;   /* transaction -> pending */
	GHashTable *listeners; /* handle id -> listener */
	gboolean closing, polling;
	int refs; /* outstanding HTTP requests + the owner */
};

static guint64 next_transaction;

static void session_unref(bot_session *s) {
	if(--s->refs > 0)
		return;
	g_hash_table_destroy(s->pending);
	g_hash_table_destroy(s->listeners);
	g_free(s->url);
	g_free(s);
}

static void pending_free(gpointer data) {
	pending *p = data;
	if(p->timer != 0)
		g_source_remove(p->timer);
	g_free(p->transaction);
	g_free(p);
}

/* Completes a pending request once: removes it, then calls back. */
static void pending_complete(bot_session *s, const char *transaction, json_t *msg, const char *err) {
	pending *p = g_hash_table_lookup(s->pending, transaction);
	if(p == NULL)
		return;
	g_hash_table_steal(s->pending, transaction);
	bot_reply_cb cb = p->cb;
	void *ud = p->ud;
	pending_free(p);
	if(cb != NULL)
		cb(msg, err, ud);
}

static gboolean on_pending_timeout(gpointer data) {
	pending *p = data;
	p->timer = 0;
	char *t = g_strdup(p->transaction);
	pending_complete(p->s, t, NULL, "timeout");
	g_free(t);
	return G_SOURCE_REMOVE;
}

static void dispatch(bot_session *s, json_t *msg) {
	const char *janus = json_string_value(json_object_get(msg, "janus"));
	const char *transaction = json_string_value(json_object_get(msg, "transaction"));
	if(janus == NULL)
		return;
	if(transaction != NULL && strcmp(janus, "ack") != 0 && g_hash_table_contains(s->pending, transaction)) {
		pending_complete(s, transaction, msg, NULL);
		return;
	}
	json_t *sender = json_object_get(msg, "sender");
	if(!json_is_integer(sender))
		return;
	guint64 h = (guint64)json_integer_value(sender);
	listener *l = g_hash_table_lookup(s->listeners, &h);
	if(l != NULL && l->cb != NULL)
		l->cb(msg, l->ud);
}

static void long_poll(bot_session *s);

static gboolean on_poll_retry(gpointer data) {
	bot_session *s = data;
	long_poll(s);
	session_unref(s);
	return G_SOURCE_REMOVE;
}

static void on_poll_done(long status, const char *body, gsize len, const char *err, void *ud) {
	bot_session *s = ud;
	s->polling = FALSE;
	if(s->closing) {
		session_unref(s);
		return;
	}
	gboolean janus_error = FALSE; /* e.g. 458 "No such session": Janus timed the session out or restarted */
	if(err == NULL && status == 200) {
		json_t *j = json_loadb(body, len, 0, NULL);
		janus_error =
			json_is_object(j) && g_strcmp0(json_string_value(json_object_get(j, "janus")), "error") == 0;
		if(json_is_array(j)) {
			size_t i;
			json_t *m;
			json_array_foreach(j, i, m) {
				dispatch(s, m);
			}
		} else if(json_is_object(j)) {
			dispatch(s, j);
		}
		json_decref(j);
	}
	/* A dispatched callback may have closed the session. */
	if(!s->closing && !janus_error && (err == NULL || strcmp(err, "timeout") == 0))
		long_poll(s);
	else if(!s->closing) {
		s->refs++; /* transient error: retry shortly */
		g_timeout_add(200, on_poll_retry, s);
	}
	session_unref(s);
}

static void long_poll(bot_session *s) {
	if(s->closing || s->polling)
		return;
	s->polling = TRUE;
	s->refs++;
	char *url = g_strdup_printf("%s?maxev=50&rid=%" G_GINT64_FORMAT, s->url, g_get_real_time());
	http_request(url, NULL, 40000, on_poll_done, s);
	g_free(url);
}

typedef struct post_ctx {
	bot_session *s;
	char *transaction;
} post_ctx;

static void on_post_done(long status, const char *body, gsize len, const char *err, void *ud) {
	post_ctx *c = ud;
	bot_session *s = c->s;
	json_t *j = err == NULL ? json_loadb(body, len, 0, NULL) : NULL;
	const char *janus = json_string_value(json_object_get(j, "janus"));
	if(err != NULL || status != 200 || janus == NULL) {
		pending_complete(s, c->transaction, NULL, err != NULL ? err : "http");
	} else if(strcmp(janus, "ack") != 0) {
		/* success/error/event answered synchronously */
		pending_complete(s, c->transaction, j, NULL);
	}
	json_decref(j);
	g_free(c->transaction);
	g_free(c);
	session_unref(s);
}

/* Posts req (stolen) to url with a fresh transaction; result through cb. */
static void post(bot_session *s, const char *url, json_t *req, bot_reply_cb cb, void *ud) {
	pending *p = g_new0(pending, 1);
	p->s = s;
	p->transaction = g_strdup_printf("%" G_GUINT64_FORMAT, ++next_transaction);
	p->cb = cb;
	p->ud = ud;
	p->timer = g_timeout_add((guint)(bot_opt.timeout_s * 1000), on_pending_timeout, p);
	g_hash_table_insert(s->pending, p->transaction, p);
	json_object_set_new(req, "transaction", json_string(p->transaction));
	post_ctx *c = g_new0(post_ctx, 1);
	c->s = s;
	c->transaction = g_strdup(p->transaction);
	s->refs++;
	http_request(url, json_dumps(req, JSON_COMPACT), (long)(bot_opt.timeout_s * 1000), on_post_done, c);
	json_decref(req);
}

typedef struct create_ctx {
	bot_session *s;
	bot_reply_cb cb;
	void *ud;
} create_ctx;

static void on_created(json_t *msg, const char *err, void *ud) {
	create_ctx *c = ud;
	bot_session *s = c->s;
	json_t *id = json_object_get(json_object_get(msg, "data"), "id");
	const char *janus = json_string_value(json_object_get(msg, "janus"));
	if(err == NULL && janus != NULL && strcmp(janus, "success") == 0 && json_is_integer(id)) {
		s->id = (guint64)json_integer_value(id);
		s->url = g_strdup_printf("%s/%" G_GUINT64_FORMAT, bot_opt.url, s->id);
		long_poll(s);
	}
	c->cb(msg, err != NULL ? err : (s->id == 0 ? "janus" : NULL), c->ud);
	g_free(c);
}

bot_session *bot_session_new(bot_reply_cb cb, void *ud) {
	bot_session *s = g_new0(bot_session, 1);
	s->refs = 1;
	s->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pending_free);
	s->listeners = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	create_ctx *c = g_new0(create_ctx, 1);
	c->s = s;
	c->cb = cb;
	c->ud = ud;
	json_t *req = json_pack("{ss}", "janus", "create");
	post(s, bot_opt.url, req, on_created, c);
	return s;
}

guint64 bot_session_id(const bot_session *s) {
	return s->id;
}

void bot_session_attach(bot_session *s, const char *plugin, bot_reply_cb cb, void *ud) {
	json_t *req = json_pack("{ssss}", "janus", "attach", "plugin", plugin);
	post(s, s->url, req, cb, ud);
}

void bot_session_listen(bot_session *s, guint64 handle, bot_handle_cb cb, void *ud) {
	if(cb == NULL) {
		g_hash_table_remove(s->listeners, &handle);
		return;
	}
	listener *l = g_new0(listener, 1);
	l->cb = cb;
	l->ud = ud;
	g_hash_table_insert(s->listeners, g_memdup2(&handle, sizeof(handle)), l);
}

void bot_session_message(
	bot_session *s, guint64 handle, json_t *body, json_t *jsep, bot_reply_cb cb, void *ud) {
	json_t *req = json_pack("{sssIsO}", "janus", "message", "handle_id", (json_int_t)handle, "body", body);
	if(jsep != NULL)
		json_object_set(req, "jsep", jsep);
	char *url = g_strdup_printf("%s/%" G_GUINT64_FORMAT, s->url, handle);
	post(s, url, req, cb, ud);
	g_free(url);
}

static void on_destroyed(json_t *msg, const char *err, void *ud) {
	(void)msg;
	(void)err;
	(void)ud;
}

void bot_session_close(bot_session *s) {
	if(s == NULL || s->closing)
		return;
	/* Pending callbacks must not run into freed peers: drop them silently. */
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, s->pending);
	while(g_hash_table_iter_next(&it, NULL, &v))
		((pending *)v)->cb = NULL;
	g_hash_table_remove_all(s->listeners);
	if(s->id != 0) {
		json_t *req = json_pack("{ss}", "janus", "destroy");
		post(s, s->url, req, on_destroyed, NULL);
	}
	s->closing = TRUE;
	session_unref(s);
}
