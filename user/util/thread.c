// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include "util/clock.h"
#include "util/thread.h"

/* More than this would not be used: see POLICY_SPLIT_MAX. */
#define HELPERS_MAX 7
/* Jobs parse, compile and fill: no deep recursion, no big locals. */
#define STACK_SIZE (1u << 20)
/* How long a helper looks for work before it sleeps. */
#define SPIN_NS 300000

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;
	pthread_cond_t done;
	struct helper_job *head, *tail;
	pthread_t t[HELPERS_MAX];
	unsigned int n; /* started */
	unsigned int idle; /* started and not running a job */
	int pending; /* jobs queued, read without the lock while spinning */
	int quit;
	bool failed; /* a helper could not be started: no more tries */
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * Start a thread on any CPU but the caller's: left to itself, the scheduler
 * often queues a new thread behind its parent, which then does all the work
 * before the thread even starts. Returns 0 or a pthread error.
 */
static int thread_elsewhere(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int cpu = sched_getcpu(), err;
	pthread_attr_t at;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return pthread_create(t, NULL, fn, arg);
	if (cpu >= 0 && CPU_COUNT(&set) > 1)
		CPU_CLR(cpu, &set);
	if (pthread_attr_init(&at))
		return pthread_create(t, NULL, fn, arg);
	pthread_attr_setaffinity_np(&at, sizeof(set), &set);
	/* (glibc's 8 MiB is mapped, and advised away at exit, for nothing) */
	pthread_attr_setstacksize(&at, STACK_SIZE);
	err = pthread_create(t, &at, fn, arg);
	pthread_attr_destroy(&at);
	return err;
}

/* CPUs this process may run on (at least 1). */
static unsigned int cpus_usable(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

static struct helper_job *take(void)
{
	struct helper_job *j = pool.head;

	if (j) {
		pool.head = j->next;
		if (!pool.head)
			pool.tail = NULL;
		__atomic_store_n(&pool.pending, pool.pending - 1, __ATOMIC_RELEASE);
		pool.idle--;
		j->taken = true;
	}
	return j;
}

static void *helper_main(void *arg)
{
	struct helper_job *j;
	long long until;

	(void)arg;
	for (;;) {
		until = clock_ns(CLOCK_MONOTONIC) + SPIN_NS;
		while (!__atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&pool.quit, __ATOMIC_ACQUIRE) &&
		       clock_ns(CLOCK_MONOTONIC) < until)
			cpu_relax();
		pthread_mutex_lock(&pool.lock);
		while (!(j = take()) && !pool.quit)
			pthread_cond_wait(&pool.more, &pool.lock);
		pthread_mutex_unlock(&pool.lock);
		if (!j)
			return NULL;
		j->fn(j->arg);
		pthread_mutex_lock(&pool.lock);
		__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
		pool.idle++;
		pthread_cond_broadcast(&pool.done);
		pthread_mutex_unlock(&pool.lock);
	}
	return NULL;
}

void helpers_done(void)
{
	pthread_mutex_lock(&pool.lock);
	__atomic_store_n(&pool.quit, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&pool.more);
	pthread_mutex_unlock(&pool.lock);
}

/*
 * At exit: a helper still running there, even asleep, makes the process
 * take 0.05-0.3 ms longer to go. All jobs have been waited for.
 */
static void stop_helpers(void)
{
	unsigned int i;

	helpers_done();
	for (i = 0; i < pool.n; i++)
		pthread_join(pool.t[i], NULL);
}

unsigned int helpers(void)
{
	/* the affinity is read once: it is a syscall, and every job asks */
	static unsigned int n = UINT_MAX;

	if (__atomic_load_n(&n, __ATOMIC_RELAXED) == UINT_MAX) {
		unsigned int c = cpus_usable() - 1;

		__atomic_store_n(&n, c > HELPERS_MAX ? HELPERS_MAX : c, __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&n, __ATOMIC_RELAXED);
}

/* Under the lock: one more helper, if there is room. false: none. */
static bool add_helper(void)
{
	if (pool.failed || pool.quit || pool.n >= helpers())
		return false;
	if (thread_elsewhere(&pool.t[pool.n], helper_main, NULL)) {
		pool.failed = true;
		return false;
	}
	if (!pool.n)
		atexit(stop_helpers);
	pool.n++;
	pool.idle++;
	return true;
}

void helpers_start(void)
{
	pthread_mutex_lock(&pool.lock);
	while (add_helper())
		;
	pthread_mutex_unlock(&pool.lock);
}

void helper_run(struct helper_job *job, void *(*fn)(void *), void *arg)
{
	*job = (struct helper_job){ .fn = fn, .arg = arg };
	pthread_mutex_lock(&pool.lock);
	if (!pool.quit) {
		if (pool.tail)
			pool.tail->next = job;
		else
			pool.head = job;
		pool.tail = job;
		__atomic_store_n(&pool.pending, pool.pending + 1, __ATOMIC_RELEASE);
		/* every helper busy: one more */
		if ((unsigned int)pool.pending > pool.idle)
			add_helper();
		if (pool.n) {
			job->queued = true;
			pthread_cond_signal(&pool.more);
		} else {
			/* no helper ever: this was the only job queued */
			pool.head = pool.tail = NULL;
			pool.pending = 0;
		}
	}
	pthread_mutex_unlock(&pool.lock);
	if (!job->queued) {
		fn(arg);
		job->done = 1;
	}
}

/* Under the lock: take job out of the queue, if no helper has taken it. */
static bool steal(struct helper_job *job)
{
	struct helper_job **p, *prev = NULL;

	if (job->taken)
		return false;
	for (p = &pool.head; *p != job; p = &(*p)->next)
		prev = *p;
	*p = job->next;
	if (pool.tail == job)
		pool.tail = prev;
	__atomic_store_n(&pool.pending, pool.pending - 1, __ATOMIC_RELEASE);
	return true;
}

void helper_wait(struct helper_job *job)
{
	long long until = clock_ns(CLOCK_MONOTONIC) + SPIN_NS;
	bool mine;

	if (!job->queued)
		return;
	/* Every helper is still busy with earlier jobs: do it here. */
	pthread_mutex_lock(&pool.lock);
	mine = steal(job);
	pthread_mutex_unlock(&pool.lock);
	if (mine) {
		job->fn(job->arg);
		job->done = 1;
		return;
	}
	while (!__atomic_load_n(&job->done, __ATOMIC_ACQUIRE) && clock_ns(CLOCK_MONOTONIC) < until)
		cpu_relax();
	pthread_mutex_lock(&pool.lock);
	while (!__atomic_load_n(&job->done, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&pool.done, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
}
