/*! \file    sfu_lock.h
 * \brief    janus-sfu: the plugin's one lock primitive (pthread mutex, read-write lock, condition)
 * \details  Every lock of the plugin is one of these. Janus's janus_mutex is a GMutex for an
 * out-of-tree plugin (USE_PTHREAD_MUTEX is a private build flag of Janus), and GLib's mutexes,
 * conditions and async queues are futex-based: ThreadSanitizer cannot see them, so it could
 * neither prove the plugin's locking right nor find it wrong. pthread primitives it understands.
 * Conditions use the monotonic clock. All functions are inline wrappers; errors of the pthread
 * calls (which only happen on misuse: an uninitialised or destroyed lock) abort.
 */
#ifndef SFU_LOCK_H
#define SFU_LOCK_H

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <glib.h>

typedef pthread_mutex_t sfu_mutex;
typedef pthread_rwlock_t sfu_rwlock;
typedef pthread_cond_t sfu_cond;

#define SFU_MUTEX_INIT  PTHREAD_MUTEX_INITIALIZER
#define SFU_RWLOCK_INIT PTHREAD_RWLOCK_INITIALIZER
/*! \brief A static condition for untimed waits only (sfu_cond_wait_until needs sfu_cond_init's clock). */
#define SFU_COND_INIT   PTHREAD_COND_INITIALIZER

/*! \brief ThreadSanitizer annotations for synchronisation it cannot see (GLib's atomics are uninstrumented):
 * SFU_TSAN_RELEASE(p) in one thread, then SFU_TSAN_ACQUIRE(p) in another, orders the first thread's accesses
 * before the second's. No-ops unless built with -fsanitize=thread. */
#if defined(__SANITIZE_THREAD__)
#define SFU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SFU_TSAN 1
#endif
#endif
#ifdef SFU_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define SFU_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#define SFU_TSAN_RELEASE(p) __tsan_release((void *)(p))
#else
#define SFU_TSAN_ACQUIRE(p) ((void)(p))
#define SFU_TSAN_RELEASE(p) ((void)(p))
#endif

static inline void sfu_lock_check(int rc) {
	if(G_UNLIKELY(rc != 0))
		abort();
}

static inline void sfu_mutex_init(sfu_mutex *m) {
	sfu_lock_check(pthread_mutex_init(m, NULL));
}
static inline void sfu_mutex_clear(sfu_mutex *m) {
	pthread_mutex_destroy(m);
}
static inline void sfu_mutex_lock(sfu_mutex *m) {
	sfu_lock_check(pthread_mutex_lock(m));
}
static inline void sfu_mutex_unlock(sfu_mutex *m) {
	sfu_lock_check(pthread_mutex_unlock(m));
}

static inline void sfu_rwlock_init(sfu_rwlock *l) {
	sfu_lock_check(pthread_rwlock_init(l, NULL));
}
static inline void sfu_rwlock_clear(sfu_rwlock *l) {
	pthread_rwlock_destroy(l);
}
static inline void sfu_rwlock_reader_lock(sfu_rwlock *l) {
	sfu_lock_check(pthread_rwlock_rdlock(l));
}
static inline void sfu_rwlock_writer_lock(sfu_rwlock *l) {
	sfu_lock_check(pthread_rwlock_wrlock(l));
}
static inline void sfu_rwlock_unlock(sfu_rwlock *l) {
	sfu_lock_check(pthread_rwlock_unlock(l));
}

/*! \brief A condition whose timed waits use CLOCK_MONOTONIC (g_get_monotonic_time() microseconds). */
static inline void sfu_cond_init(sfu_cond *c) {
	pthread_condattr_t attr;
	sfu_lock_check(pthread_condattr_init(&attr));
	sfu_lock_check(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC));
	sfu_lock_check(pthread_cond_init(c, &attr));
	pthread_condattr_destroy(&attr);
}
static inline void sfu_cond_clear(sfu_cond *c) {
	pthread_cond_destroy(c);
}
static inline void sfu_cond_wait(sfu_cond *c, sfu_mutex *m) {
	sfu_lock_check(pthread_cond_wait(c, m));
}
/*! \brief Wait until \p end_us (g_get_monotonic_time() clock) at the latest. Spurious wake-ups happen. */
static inline void sfu_cond_wait_until(sfu_cond *c, sfu_mutex *m, gint64 end_us) {
	struct timespec ts = {.tv_sec = end_us / G_USEC_PER_SEC, .tv_nsec = (end_us % G_USEC_PER_SEC) * 1000};
	int rc = pthread_cond_timedwait(c, m, &ts);
	if(rc != 0 && rc != ETIMEDOUT)
		abort();
}
static inline void sfu_cond_signal(sfu_cond *c) {
	sfu_lock_check(pthread_cond_signal(c));
}
static inline void sfu_cond_broadcast(sfu_cond *c) {
	sfu_lock_check(pthread_cond_broadcast(c));
}

#endif
