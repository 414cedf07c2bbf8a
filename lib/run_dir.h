/* The run directory's layout, shared by arom-vmm (which registers there),
 * aromd (which looks there) and the arom CLI:
 *   RUN_DIR/           0755
 *   RUN_DIR/vms/       0700  NAME.sock: each VM's API socket (mode 0600)
 *   RUN_DIR/logs/      0700  NAME.log: output of VMs `arom run` launched */
#ifndef AROM_LIB_RUN_DIR_H
#define AROM_LIB_RUN_DIR_H

#include <stddef.h>

/* Create RUN_DIR and RUN_DIR/sub (if missing). 0 or -errno with err. */
int run_dir_make(const char *run_dir, const char *sub, char *err, size_t errlen);
/* RUN_DIR/vms/NAME.sock into sock: 0, or -ENAMETOOLONG. */
int run_dir_sock(const char *run_dir, const char *name, char *sock, size_t len);

#endif
