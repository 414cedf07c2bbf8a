/* libvirt domain XML as a VM definition (docs/LIBVIRT.md). The parts arom
 * understands become arom-vmm settings (option name, text value), applied
 * through the option table like a config file's, so they are validated
 * the same way and the command line overrides them:
 *   /domain/name, uuid                    name, uuid
 *   /domain/memory (unit), currentMemory  mem (currentMemory must equal it: no balloon)
 *   /domain/vcpu (current)                vcpus
 *   /domain/os/kernel, os/cmdline         payload, args
 *   /domain/metadata/arom:tiering/@*      tiering options (DOMAIN_XML_NS)
 * Devices a guest would miss (disk, interface, hostdev, filesystem, ...),
 * a domain type other than kvm, firmware or initrd boot are errors; other
 * elements arom has no use for are listed as notes, never dropped unsaid.
 * Foreign metadata (other namespaces) is ignored, as libvirt does. */
#ifndef AROM_VMM_DOMAIN_XML_H
#define AROM_VMM_DOMAIN_XML_H

#include <stddef.h>

#include "vmm/options.h"

#define DOMAIN_XML_NS "https://arom.dev/xmlns/libvirt/domain/1.0"
#define DOMAIN_XML_PREFIX "arom"
#define DOMAIN_XML_MAX (1u << 20)      /* bytes of XML read */
#define DOMAIN_SETTINGS_MAX 32

struct domain_setting {
    const char *key;            /* an arom-vmm option name */
    char value[256];
};

struct domain_def {
    struct domain_setting s[DOMAIN_SETTINGS_MAX];
    size_t n;
    char notes[512];            /* what was ignored, for a log line; "" if nothing */
};

/* Parse xml (len bytes) into d. origin names the source in errors. 0, or
 * -EINVAL with err (malformed XML with its line, unsupported elements,
 * bad values). */
int domain_xml_parse(const char *xml, size_t len, const char *origin, struct domain_def *d, char *err,
                     size_t errlen);

/* A domain XML describing a VM defined by options (for hooks' stdin when
 * the VM did not come from XML): malloc'd, NULL when out of memory. */
char *domain_xml_format(const struct vmm_options *o, const char *name, const char *uuid);

#endif
