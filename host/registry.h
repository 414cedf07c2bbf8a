/* Where VMs register: a VM started with --run-dir DIR serves its API on
 * DIR/vms/NAME.sock, and the socket is the registration (no handshake:
 * a VMM needs nothing from aromd to run, and aromd restarted finds every
 * VM again by listing the folder). */
#ifndef AROM_HOST_REGISTRY_H
#define AROM_HOST_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#define REGISTRY_NAME_MAX 64
#define REGISTRY_STALE_S 5      /* a socket refused for this long after creation is stale */

struct vm_entry {
    char name[REGISTRY_NAME_MAX];
    char sock[108];
};

/* The sockets under run_dir/vms, sorted by name (a missing folder: none).
 * *out is malloc'd. 0 or -errno with err. */
int registry_scan(const char *run_dir, struct vm_entry **out, size_t *n, char *err, size_t errlen);
/* The socket of VM name under run_dir: 0, or -EINVAL (bad name, path too long). */
int registry_sock(const char *run_dir, const char *name, char *sock, size_t len);
/* After a connect to sock failed with rc: true when the socket is stale
 * (nobody listens and it is older than REGISTRY_STALE_S, so it is not a
 * VMM between bind and listen) and has been removed. */
bool registry_drop_stale(const char *sock, int rc);

#endif
