#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/parse.h"
#include "vmm/domain_xml.h"

#define fail(err, errlen, ...) errf(err, errlen, -EINVAL, __VA_ARGS__)

/* The attributes of <arom:tiering>: each is the arom-vmm option of its name. */
static const char *const tiering_attrs[] = {
    "dram-budget", "ltram", "ltram-size", "ltram-profile", "max-slowdown", "exit-cost-us", "epoch-ms",
    "daemon", "access-tracking", "tokens", "token-lifetime", "audit-ms", "map-limit", NULL,
};

/* Devices a guest would miss: refusing them is better than a VM without its disk. */
static const char *const unsupported_devices[] = {
    "disk", "interface", "hostdev", "filesystem", "redirdev", "smartcard", "shmem", "tpm", NULL,
};

/* Top-level elements with nothing for arom to do and nothing a guest misses. */
static const char *const harmless[] = {
    "name", "uuid", "title", "description", "memory", "currentMemory", "vcpu", "os", "devices", "metadata",
    "clock", "on_poweroff", "on_reboot", "on_crash", NULL,
};

static bool in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return true;
    return false;
}

struct parse {
    xmlDocPtr doc;
    xmlXPathContextPtr xp;
    const char *origin;
    struct domain_def *d;
    char *err;
    size_t errlen;
};

static int add(struct parse *p, const char *key, const char *value)
{
    struct domain_def *d = p->d;
    if (d->n == DOMAIN_SETTINGS_MAX)
        return fail(p->err, p->errlen, "%s: too many settings", p->origin);
    if (strlen(value) >= sizeof d->s[0].value)
        return fail(p->err, p->errlen, "%s: the value for %s is over %zu bytes", p->origin, key,
                    sizeof d->s[0].value - 1);
    d->s[d->n].key = key;
    snprintf(d->s[d->n].value, sizeof d->s[0].value, "%s", value);
    d->n++;
    return 0;
}

static void note(struct parse *p, const char *what)
{
    char *n = p->d->notes;
    size_t len = strlen(n), cap = sizeof p->d->notes;
    if (strstr(n, what))
        return;
    snprintf(n + len, cap - len, "%s%s", len ? ", " : "", what);
}

/* The nodes at path (NULL when none). The caller frees the result. */
static xmlXPathObjectPtr nodes(struct parse *p, const char *path)
{
    xmlXPathObjectPtr r = xmlXPathEvalExpression((const xmlChar *)path, p->xp);
    if (r && (!r->nodesetval || !r->nodesetval->nodeNr)) {
        xmlXPathFreeObject(r);
        r = NULL;
    }
    return r;
}

static bool present(struct parse *p, const char *path)
{
    xmlXPathObjectPtr r = nodes(p, path);
    xmlXPathFreeObject(r);
    return r != NULL;
}

/* The text of the one element at path into buf: 1, 0 when absent, or
 * -EINVAL (twice, or too long). */
static int text_at(struct parse *p, const char *path, char *buf, size_t len)
{
    xmlXPathObjectPtr r = nodes(p, path);
    if (!r)
        return 0;
    int rc = 1;
    if (r->nodesetval->nodeNr > 1) {
        rc = fail(p->err, p->errlen, "%s: %s: given %d times", p->origin, path, r->nodesetval->nodeNr);
    } else {
        xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
        const char *s = t ? (const char *)t : "";
        s += strspn(s, " \t\r\n");
        size_t n = strlen(s);
        while (n && strchr(" \t\r\n", s[n - 1]))
            n--;
        if (n >= len)
            rc = fail(p->err, p->errlen, "%s: %s: longer than %zu bytes", p->origin, path, len - 1);
        else
            snprintf(buf, len, "%.*s", (int)n, s);
        xmlFree(t);
    }
    xmlXPathFreeObject(r);
    return rc;
}

/* An attribute of the element at path, into buf: 1, 0 when absent. */
static int attr_at(struct parse *p, const char *path, const char *attr, char *buf, size_t len)
{
    xmlXPathObjectPtr r = nodes(p, path);
    if (!r)
        return 0;
    xmlChar *v = xmlGetProp(r->nodesetval->nodeTab[0], (const xmlChar *)attr);
    int rc = v != NULL;
    if (v)
        snprintf(buf, len, "%s", (const char *)v);
    xmlFree(v);
    xmlXPathFreeObject(r);
    return rc;
}

/* libvirt's memory units: b/bytes, KB/MB/GB/TB (powers of 1000),
 * k/KiB, M/MiB, G/GiB, T/TiB (of 1024); none means KiB. */
static int unit_scale(const char *unit, uint64_t *scale)
{
    static const struct { const char *name; uint64_t scale; } units[] = {
        {"b", 1}, {"bytes", 1}, {"KB", 1000}, {"k", 1024}, {"KiB", 1024}, {"MB", 1000000}, {"M", 1 << 20},
        {"MiB", 1 << 20}, {"GB", 1000000000}, {"G", 1ull << 30}, {"GiB", 1ull << 30}, {"TB", 1000000000000ull},
        {"T", 1ull << 40}, {"TiB", 1ull << 40},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(units[i].name, unit)) {
            *scale = units[i].scale;
            return 0;
        }
    return -EINVAL;
}

/* /domain/memory or currentMemory in bytes: 1, 0 when absent, -EINVAL. */
static int memory_at(struct parse *p, const char *path, uint64_t *bytes)
{
    char text[64], unit[16] = "KiB";
    uint64_t n, scale;
    int rc = text_at(p, path, text, sizeof text);
    if (rc <= 0)
        return rc;
    attr_at(p, path, "unit", unit, sizeof unit);
    if (unit_scale(unit, &scale))
        return fail(p->err, p->errlen, "%s: %s: unknown unit '%s' (b, KB, KiB, MB, MiB, GB, GiB, TB, TiB ...)",
                    p->origin, path, unit);
    if (parse_u64(text, &n) || n > UINT64_MAX / scale)
        return fail(p->err, p->errlen, "%s: %s: '%s' is not a whole number of %s", p->origin, path, text, unit);
    *bytes = n * scale;
    return 1;
}

static int parse_identity(struct parse *p)
{
    char buf[256];
    int rc = text_at(p, "/domain/name", buf, sizeof buf);
    if (rc == 0)
        return fail(p->err, p->errlen, "%s: the domain has no <name>", p->origin);
    if (rc < 0 || (rc = add(p, "name", buf)) < 0)
        return rc;
    rc = text_at(p, "/domain/uuid", buf, sizeof buf);
    return rc > 0 ? add(p, "uuid", buf) : rc;
}

static int parse_memory(struct parse *p)
{
    uint64_t mem, cur;
    char num[32];
    int rc = memory_at(p, "/domain/memory", &mem);
    if (rc == 0)
        return fail(p->err, p->errlen, "%s: the domain has no <memory>", p->origin);
    if (rc < 0)
        return rc;
    rc = memory_at(p, "/domain/currentMemory", &cur);
    if (rc < 0)
        return rc;
    if (rc > 0 && cur != mem)
        return fail(p->err, p->errlen,
                    "%s: currentMemory (%llu bytes) differs from memory (%llu bytes): arom has no memory balloon; make "
                    "them equal", p->origin, (unsigned long long)cur, (unsigned long long)mem);
    if (present(p, "/domain/maxMemory"))
        return fail(p->err, p->errlen, "%s: <maxMemory>: memory hotplug is not supported", p->origin);
    snprintf(num, sizeof num, "%llu", (unsigned long long)mem);
    return add(p, "mem", num);
}

static int parse_vcpu(struct parse *p)
{
    char n[32];
    int rc = attr_at(p, "/domain/vcpu", "current", n, sizeof n);
    if (rc == 0)
        rc = text_at(p, "/domain/vcpu", n, sizeof n);
    char cpuset[64];
    if (attr_at(p, "/domain/vcpu", "cpuset", cpuset, sizeof cpuset))
        note(p, "vcpu cpuset");
    return rc > 0 ? add(p, "vcpus", n) : rc;
}

static int parse_os(struct parse *p)
{
    char buf[256];
    if (attr_at(p, "/domain/os/type", "arch", buf, sizeof buf) && strcmp(buf, "x86_64"))
        return fail(p->err, p->errlen, "%s: os type arch='%s': arom runs x86_64 guests", p->origin, buf);
    if (text_at(p, "/domain/os/type", buf, sizeof buf) > 0 && strcmp(buf, "hvm"))
        return fail(p->err, p->errlen, "%s: os type '%s': arom runs hvm domains", p->origin, buf);
    static const char *const refused[][2] = {
        {"/domain/os/loader", "firmware boot (<loader>) is not supported: arom starts os/kernel"},
        {"/domain/os/initrd", "<initrd> is not supported: the payload is one static ELF"},
        {"/domain/os/dtb", "<dtb> is not supported"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (present(p, refused[i][0]))
            return fail(p->err, p->errlen, "%s: %s", p->origin, refused[i][1]);
    int rc = text_at(p, "/domain/os/kernel", buf, sizeof buf);
    if (rc > 0)
        rc = add(p, "payload", buf);
    if (rc >= 0 && (rc = text_at(p, "/domain/os/cmdline", buf, sizeof buf)) > 0)
        rc = add(p, "args", buf);
    return rc < 0 ? rc : 0;
}

/* Every child element of the node set at path: unsupported ones are
 * errors (with what), the others notes unless harmless. */
static int scan_children(struct parse *p, const char *path, const char *const *errors, const char *const *quiet,
                         const char *what)
{
    xmlXPathObjectPtr r = nodes(p, path);
    int rc = 0;
    for (xmlNodePtr c = r ? r->nodesetval->nodeTab[0]->children : NULL; c && !rc; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (errors && in(errors, name))
            rc = fail(p->err, p->errlen, "%s: <%s> %s: arom VMs have none (remove it from the domain)", p->origin,
                      name, what);
        else if (!quiet || !in(quiet, name))
            note(p, name);
    }
    xmlXPathFreeObject(r);
    return rc;
}

static int parse_tiering(struct parse *p)
{
    xmlXPathObjectPtr r = nodes(p, "/domain/metadata/" DOMAIN_XML_PREFIX ":tiering");
    if (!r)
        return 0;
    int rc = 0;
    if (r->nodesetval->nodeNr > 1)
        rc = fail(p->err, p->errlen, "%s: metadata: %d <tiering> elements in %s", p->origin, r->nodesetval->nodeNr,
                  DOMAIN_XML_NS);
    for (xmlAttrPtr a = rc ? NULL : r->nodesetval->nodeTab[0]->properties; a && !rc; a = a->next) {
        const char *name = (const char *)a->name;
        size_t i = 0;
        while (tiering_attrs[i] && strcmp(tiering_attrs[i], name))
            i++;
        if (!tiering_attrs[i] || a->ns) {
            rc = fail(p->err, p->errlen, "%s: metadata arom:tiering: unknown attribute '%s' (known: dram-budget, "
                      "ltram, ltram-size, ltram-profile, max-slowdown, exit-cost-us, epoch-ms, daemon, "
                      "access-tracking, tokens, token-lifetime, audit-ms, map-limit)", p->origin, name);
            break;
        }
        xmlChar *v = xmlNodeListGetString(p->doc, a->children, 1);
        rc = add(p, tiering_attrs[i], v ? (const char *)v : "");
        xmlFree(v);
    }
    xmlXPathFreeObject(r);
    return rc;
}

static int parse_domain(struct parse *p)
{
    xmlNodePtr root = xmlDocGetRootElement(p->doc);
    if (!root || strcmp((const char *)root->name, "domain"))
        return fail(p->err, p->errlen, "%s: not a libvirt domain (the root element is <%s>)", p->origin,
                    root ? (const char *)root->name : "");
    char type[32] = "";
    if (!attr_at(p, "/domain", "type", type, sizeof type) || strcmp(type, "kvm"))
        return fail(p->err, p->errlen, "%s: domain type '%s': arom runs type='kvm' domains", p->origin, type);
    int rc;
    if ((rc = parse_identity(p)) || (rc = parse_memory(p)) || (rc = parse_vcpu(p)) || (rc = parse_os(p)) ||
        (rc = scan_children(p, "/domain/devices", unsupported_devices, (const char *const[]){"emulator", NULL},
                            "device")) ||
        (rc = scan_children(p, "/domain", NULL, harmless, "")) ||
        (rc = scan_children(p, "/domain/os", NULL, (const char *const[]){"type", "kernel", "cmdline", "boot", NULL}, "")))
        return rc;
    return parse_tiering(p);
}

int domain_xml_parse(const char *xml, size_t len, const char *origin, struct domain_def *d, char *err,
                     size_t errlen)
{
    *d = (struct domain_def){0};
    if (len > DOMAIN_XML_MAX)
        return fail(err, errlen, "%s: larger than %u bytes", origin, DOMAIN_XML_MAX);
    if (memchr(xml, '\0', len))
        return fail(err, errlen, "%s: holds a NUL byte", origin);
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (!ctx)
        return errf(err, errlen, -ENOMEM, "out of memory");
    /* No network, no entity expansion, no DTD loading: the file is data. */
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, xml, (int)len, origin, NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(ctx);
        char msg[160] = "not XML";
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
        }
        int rc = fail(err, errlen, "%s: malformed XML at line %d: %s", origin, e ? e->line : 0, msg);
        xmlFreeParserCtxt(ctx);
        return rc;
    }
    if (doc->intSubset || doc->extSubset) {     /* libvirt's XML has none; entities are a way in */
        xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctx);
        return fail(err, errlen, "%s: a <!DOCTYPE> is not allowed in domain XML", origin);
    }
    struct parse p = {.doc = doc, .xp = xmlXPathNewContext(doc), .origin = origin, .d = d, .err = err,
                      .errlen = errlen};
    int rc = p.xp && xmlXPathRegisterNs(p.xp, (const xmlChar *)DOMAIN_XML_PREFIX, (const xmlChar *)DOMAIN_XML_NS) == 0
                 ? parse_domain(&p) : errf(err, errlen, -ENOMEM, "out of memory");
    xmlXPathFreeContext(p.xp);
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctx);
    return rc;
}

static xmlNodePtr text_child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);
}

char *domain_xml_format(const struct vmm_options *o, const char *name, const char *uuid)
{
    char num[64];
    xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr dom = xmlNewNode(NULL, (const xmlChar *)"domain");
    xmlDocSetRootElement(doc, dom);
    xmlNewProp(dom, (const xmlChar *)"type", (const xmlChar *)"kvm");
    text_child(dom, "name", name);
    text_child(dom, "uuid", uuid);
    xmlNodePtr meta = xmlNewChild(dom, NULL, (const xmlChar *)"metadata", NULL);
    xmlNodePtr t = xmlNewChild(meta, NULL, (const xmlChar *)"tiering", NULL);
    xmlSetNs(t, xmlNewNs(t, (const xmlChar *)DOMAIN_XML_NS, (const xmlChar *)DOMAIN_XML_PREFIX));
    if (o->dram_budget.set) {
        if (o->dram_budget.pct)
            snprintf(num, sizeof num, "%g%%", o->dram_budget.percent);
        else
            snprintf(num, sizeof num, "%llu", (unsigned long long)o->dram_budget.bytes);
        xmlNewProp(t, (const xmlChar *)"dram-budget", (const xmlChar *)num);
    }
    if (!o->tiering_on)
        xmlNewProp(t, (const xmlChar *)"ltram", (const xmlChar *)"off");
    snprintf(num, sizeof num, "%llu", (unsigned long long)o->mem);
    xmlNewProp(text_child(dom, "memory", num), (const xmlChar *)"unit", (const xmlChar *)"b");
    snprintf(num, sizeof num, "%u", o->vcpus);
    text_child(dom, "vcpu", num);
    xmlNodePtr os = xmlNewChild(dom, NULL, (const xmlChar *)"os", NULL);
    xmlNewProp(text_child(os, "type", "hvm"), (const xmlChar *)"arch", (const xmlChar *)"x86_64");
    text_child(os, "kernel", o->payload ? o->payload : "");
    if (o->args)
        text_child(os, "cmdline", o->args);
    xmlChar *out = NULL;
    int n = 0;
    xmlDocDumpFormatMemory(doc, &out, &n, 1);
    xmlFreeDoc(doc);
    char *s = out ? strdup((const char *)out) : NULL;
    xmlFree(out);
    return s;
}
