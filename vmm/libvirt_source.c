#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xmlerror.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "vmm/libvirt_source.h"

/* libvirt prints every error to stderr by default; arom reports them once, with context. */
static void quiet(void *opaque, virErrorPtr e)
{
    (void)opaque;
    (void)e;
}

/* ... and the test driver's libxml2 warns on stderr itself: said once, by libvirt's message. */
static void quiet_xml(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

int libvirt_domain_xml(const char *uri, const char *name, char **xml, char *err, size_t errlen)
{
    *xml = NULL;
    virSetErrorFunc(NULL, quiet);
    xmlSetGenericErrorFunc(NULL, quiet_xml);
    virConnectPtr c = virConnectOpenReadOnly(uri);
    xmlSetGenericErrorFunc(NULL, NULL);
    if (!c)
        return errf(err, errlen, -EINVAL, "--libvirt %s: %s", uri, virGetLastErrorMessage());
    int rc = 0;
    virDomainPtr d = virDomainLookupByName(c, name);
    if (!d) {
        rc = errf(err, errlen, -EINVAL, "--domain %s (at %s): %s", name, uri, virGetLastErrorMessage());
    } else {
        *xml = virDomainGetXMLDesc(d, 0);
        if (!*xml)
            rc = errf(err, errlen, -EINVAL, "--domain %s: %s", name, virGetLastErrorMessage());
        virDomainFree(d);
    }
    virConnectClose(c);
    return rc;
}
