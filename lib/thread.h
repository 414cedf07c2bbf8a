/* A joinable thread that knows whether it was started. */
#ifndef AROM_LIB_THREAD_H
#define AROM_LIB_THREAD_H

#include <pthread.h>
#include <stdbool.h>

struct thread {
    pthread_t id;
    bool started;
};

/* Start fn(arg) as a thread named name (shown by ps and top: at most 15
 * characters). 0 or -errno. */
static inline int thread_start(struct thread *t, const char *name, void *(*fn)(void *), void *arg)
{
    int rc = pthread_create(&t->id, NULL, fn, arg);
    if (rc)
        return -rc;
    pthread_setname_np(t->id, name);
    t->started = true;
    return 0;
}

static inline void thread_join(struct thread *t)
{
    if (t->started)
        pthread_join(t->id, NULL);
    t->started = false;
}

#endif
