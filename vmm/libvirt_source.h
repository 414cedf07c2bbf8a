/* Domains stored in libvirt: the XML of a defined domain, fetched through
 * the libvirt C API, read-only (any URI: qemu:///system on a libvirt host,
 * test:///PATH/node.xml in the tests, no daemon needed). */
#ifndef AROM_VMM_LIBVIRT_SOURCE_H
#define AROM_VMM_LIBVIRT_SOURCE_H

#include <stddef.h>

/* The domain XML of name at uri (malloc'd into *xml): 0, or -EINVAL
 * (cannot connect, no such domain) with libvirt's message in err. */
int libvirt_domain_xml(const char *uri, const char *name, char **xml, char *err, size_t errlen);

#endif
