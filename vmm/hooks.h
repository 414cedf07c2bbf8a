/* Lifecycle hooks the way libvirt's qemu driver runs them (docs/LIBVIRT.md):
 * from a hooks directory (default /etc/libvirt/hooks), the script `arom`,
 * then every executable in `arom.d/` in alphabetical order; arguments:
 * the VM's name, the operation, the sub-operation and an extra argument
 * ("-" where there is none); the domain XML on stdin. They run
 * synchronously, one at a time, each in its own process group, killed
 * after the timeout. They must not call back into arom (the VMM waits for
 * them). */
#ifndef AROM_VMM_HOOKS_H
#define AROM_VMM_HOOKS_H

#include <stdbool.h>
#include <stddef.h>

#define HOOKS_DEFAULT_DIR "/etc/libvirt/hooks"
#define HOOKS_STDERR_MAX 2048     /* bytes of a hook's stderr kept for the error */

struct hooks {
    char dir[4096];             /* "" when hooks are off */
    const char *name;           /* the VM's */
    const char *xml;            /* what hooks read on stdin */
    double timeout_s;
};

/* dir: NULL for the default, "off" for none. */
void hooks_init(struct hooks *h, const char *dir, const char *name, const char *xml, double timeout_s);
/* Run the hooks for op subop extra (NULL: "-"). 0 when all exit 0 (or
 * there are none); else -EINVAL with err naming the first failing hook,
 * its status and its stderr. gate: stop at the first failure (prepare,
 * start: the launch is aborted), else run them all (teardown goes on). */
int hooks_run(const struct hooks *h, const char *op, const char *subop, const char *extra, bool gate, char *err,
              size_t errlen);

#endif
