/* libvirt domain XML as a VM definition (vmm/domain_xml.c) and through
 * the option table (options_apply_domain): mapping, units, what is
 * refused, what is noted, foreign metadata, malformed XML. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "vmm/domain_xml.h"
#include "vmm/options.h"

#define NS "xmlns:arom='" DOMAIN_XML_NS "'"

static char err[1024];

static int parse(const char *xml, struct domain_def *d)
{
    err[0] = '\0';
    return domain_xml_parse(xml, strlen(xml), "t.xml", d, err, sizeof err);
}

static const char *get(const struct domain_def *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->s[i].key, key))
            return d->s[i].value;
    return NULL;
}

/* A domain with body inside <domain type='kvm'><name>v</name> ... */
static int parse_body(const char *body, struct domain_def *d)
{
    char xml[4096];
    snprintf(xml, sizeof xml, "<domain type='kvm'><name>v</name><memory unit='MiB'>64</memory>%s</domain>", body);
    return parse(xml, d);
}

static void test_full_domain(void)
{
    struct domain_def d;
    const char *xml =
        "<domain type='kvm' id='3'>\n"
        "  <name>kv1</name>\n  <uuid>11111111-2222-4333-8444-555555555555</uuid>\n"
        "  <memory unit='GiB'>1</memory>\n  <currentMemory unit='MiB'>1024</currentMemory>\n"
        "  <vcpu placement='static' current='2'>4</vcpu>\n"
        "  <os><type arch='x86_64' machine='pc'>hvm</type><kernel> /p/kvcache.elf </kernel>"
        "<cmdline>values=700M mix=C</cmdline><boot dev='hd'/></os>\n"
        "  <metadata><arom:tiering " NS " dram-budget='25%' ltram-profile='nor-flash' max-slowdown='3' "
        "epoch-ms='500' daemon='on' tokens='off'/></metadata>\n"
        "  <on_poweroff>destroy</on_poweroff><clock offset='utc'/>\n"
        "  <devices><emulator>/usr/bin/qemu</emulator><console type='pty'/><memballoon model='virtio'/></devices>\n"
        "</domain>\n";
    CU_ASSERT_EQUAL_FATAL(parse(xml, &d), 0);
    CU_ASSERT_STRING_EQUAL(get(&d, "name"), "kv1");
    CU_ASSERT_STRING_EQUAL(get(&d, "uuid"), "11111111-2222-4333-8444-555555555555");
    CU_ASSERT_STRING_EQUAL(get(&d, "mem"), "1073741824");
    CU_ASSERT_STRING_EQUAL(get(&d, "vcpus"), "2");       /* current, not the maximum */
    CU_ASSERT_STRING_EQUAL(get(&d, "payload"), "/p/kvcache.elf");
    CU_ASSERT_STRING_EQUAL(get(&d, "args"), "values=700M mix=C");
    CU_ASSERT_STRING_EQUAL(get(&d, "dram-budget"), "25%");
    CU_ASSERT_STRING_EQUAL(get(&d, "ltram-profile"), "nor-flash");
    CU_ASSERT_STRING_EQUAL(get(&d, "max-slowdown"), "3");
    CU_ASSERT_STRING_EQUAL(get(&d, "epoch-ms"), "500");
    CU_ASSERT_STRING_EQUAL(get(&d, "tokens"), "off");
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "console"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "memballoon"));
    CU_ASSERT_PTR_NULL(strstr(d.notes, "emulator"));
    CU_ASSERT_PTR_NULL(strstr(d.notes, "clock"));
}

static void test_memory_units(void)
{
    static const struct { const char *unit; const char *n; const char *bytes; } cases[] = {
        {"", "65536", "67108864"},          /* no unit: KiB */
        {"b", "67108864", "67108864"}, {"bytes", "67108864", "67108864"}, {"KB", "64000", "64000000"},
        {"k", "65536", "67108864"}, {"KiB", "65536", "67108864"}, {"MB", "64", "64000000"},
        {"M", "64", "67108864"}, {"MiB", "64", "67108864"}, {"GB", "1", "1000000000"},
        {"G", "2", "2147483648"}, {"GiB", "2", "2147483648"}, {"TB", "1", "1000000000000"},
        {"TiB", "1", "1099511627776"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char xml[512];
        struct domain_def d;
        snprintf(xml, sizeof xml, "<domain type='kvm'><name>v</name><memory%s%s%s>%s</memory></domain>",
                 cases[i].unit[0] ? " unit='" : "", cases[i].unit, cases[i].unit[0] ? "'" : "", cases[i].n);
        CU_ASSERT_EQUAL_FATAL(parse(xml, &d), 0);
        CU_ASSERT_STRING_EQUAL(get(&d, "mem"), cases[i].bytes);
    }
}

static void expect_error(const char *xml, const char *needle)
{
    struct domain_def d;
    CU_ASSERT_EQUAL(parse(xml, &d), -EINVAL);
    if (!strstr(err, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, err);
        CU_FAIL("error message");
    }
}

static void expect_body_error(const char *body, const char *needle)
{
    char xml[4096];
    snprintf(xml, sizeof xml, "<domain type='kvm'><name>v</name><memory unit='MiB'>64</memory>%s</domain>", body);
    expect_error(xml, needle);
}

static void test_bad_values(void)
{
    expect_error("<domain type='kvm'><name>v</name><memory unit='parsecs'>1</memory></domain>", "unknown unit 'parsecs'");
    expect_error("<domain type='kvm'><name>v</name><memory>lots</memory></domain>", "not a whole number");
    expect_error("<domain type='kvm'><name>v</name><memory>-5</memory></domain>", "not a whole number");
    expect_error("<domain type='kvm'><name>v</name><memory unit='TiB'>99999999999</memory></domain>", "whole number");
    expect_body_error("<currentMemory unit='MiB'>32</currentMemory>", "no memory balloon");
    expect_body_error("<maxMemory slots='4' unit='GiB'>4</maxMemory>", "hotplug");
    expect_body_error("<name>w</name>", "given 2 times");
    expect_body_error("<metadata><arom:tiering " NS " colour='blue'/></metadata>", "unknown attribute 'colour'");
    expect_body_error("<metadata><arom:tiering " NS "/><arom:tiering " NS "/></metadata>", "2 <tiering>");
}

static void test_missing_elements(void)
{
    expect_error("<domain type='kvm'><memory>65536</memory></domain>", "no <name>");
    expect_error("<domain type='kvm'><name>v</name></domain>", "no <memory>");
    struct domain_def d;
    CU_ASSERT_EQUAL(parse_body("", &d), 0);          /* no vcpu, os, uuid: the defaults stay */
    CU_ASSERT_PTR_NULL(get(&d, "vcpus"));
    CU_ASSERT_PTR_NULL(get(&d, "payload"));
    CU_ASSERT_PTR_NULL(get(&d, "uuid"));
}

static void test_refused(void)
{
    expect_error("<domain type='qemu'><name>v</name><memory>1</memory></domain>", "type 'qemu'");
    expect_error("<domain><name>v</name><memory>1</memory></domain>", "type=");
    expect_error("<node><domain type='kvm'/></node>", "root element is <node>");
    expect_body_error("<devices><disk type='file' device='disk'><source file='/x'/></disk></devices>", "<disk>");
    expect_body_error("<devices><interface type='network'/></devices>", "<interface>");
    expect_body_error("<devices><hostdev mode='subsystem'/></devices>", "<hostdev>");
    expect_body_error("<devices><filesystem/></devices>", "<filesystem>");
    expect_body_error("<os><type>hvm</type><loader>/fw.bin</loader></os>", "firmware");
    expect_body_error("<os><kernel>/k</kernel><initrd>/i</initrd></os>", "<initrd>");
    expect_body_error("<os><type arch='aarch64'>hvm</type></os>", "arch='aarch64'");
    expect_body_error("<os><type>xen</type></os>", "os type 'xen'");
}

static void test_notes_and_foreign_metadata(void)
{
    struct domain_def d;
    CU_ASSERT_EQUAL_FATAL(parse_body("<cpu mode='host-passthrough'/><features><acpi/></features>"
                                     "<metadata><lo:libosinfo xmlns:lo='http://libosinfo.org/xmlns/libvirt/domain/1.0'>"
                                     "<lo:os id='http://debian.org/debian/12'/></lo:libosinfo>"
                                     "<x:tiering xmlns:x='http://example.com/other' dram-budget='1%'/>"
                                     "<t:tiering xmlns:t='" DOMAIN_XML_NS "' dram-budget='40%'/></metadata>"
                                     "<devices><video/><serial type='pty'/></devices>", &d), 0);
    CU_ASSERT_STRING_EQUAL(get(&d, "dram-budget"), "40%");  /* by URI, whatever the prefix */
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "cpu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "features"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "video"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.notes, "serial"));
    CU_ASSERT_PTR_NULL(strstr(d.notes, "metadata"));
}

static void test_malformed(void)
{
    expect_error("<domain type='kvm'><name>v</name>\n<memory>1</memory>\n<oops></domain>", "malformed XML at line 3");
    expect_error("", "malformed XML");
    expect_error("not xml at all", "malformed XML");
    struct domain_def d;
    CU_ASSERT_EQUAL(domain_xml_parse("<domain>\0</domain>", 18, "t.xml", &d, err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "NUL"));
    /* no DTD, so no entity can pull in a file or the network */
    expect_error("<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='kvm'><name>&x;</name>"
                 "<memory>1</memory></domain>", "DOCTYPE");
}

/* Through the option table: validated like any setting; the CLI overrides. */
static void test_options_apply_and_override(void)
{
    char path[] = "/tmp/arom-domain-XXXXXX";
    int fd = mkstemp(path);
    const char *xml = "<domain type='kvm'><name>dom1</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>"
                      "<os><kernel>/p/x.elf</kernel><cmdline>a=1</cmdline></os>"
                      "<metadata><arom:tiering " NS " dram-budget='25%'/></metadata></domain>";
    CU_ASSERT_EQUAL(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
    close(fd);
    struct vmm_options o;
    options_init(&o);
    char *argv[] = {"arom-vmm", "--vcpus", "1", "--domain-xml", path, "--hooks-dir", "off", NULL};
    CU_ASSERT_EQUAL_FATAL(options_parse_argv(&o, 7, argv, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(o.name, "dom1");
    CU_ASSERT_EQUAL(o.mem, 128ull << 20);
    CU_ASSERT_EQUAL(o.vcpus, 1);            /* the command line, wherever it stands */
    CU_ASSERT_STRING_EQUAL(o.payload, "/p/x.elf");
    CU_ASSERT_STRING_EQUAL(o.args, "a=1");
    CU_ASSERT_TRUE(o.dram_budget.set && o.dram_budget.pct && o.dram_budget.percent == 25);
    CU_ASSERT_PTR_NOT_NULL(o.domain_text);
    options_free(&o);
    /* a value the option table refuses is an error naming the domain */
    options_init(&o);
    CU_ASSERT_EQUAL(options_apply_domain(&o, "<domain type='kvm'><name>v</name><memory>1</memory></domain>", "d.xml",
                                         err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "d.xml: --mem"));
    CU_ASSERT_EQUAL(options_apply_domain(&o, "<domain type='kvm'><name>v</name><memory unit='MiB'>64</memory>"
                                         "<metadata><arom:tiering " NS " daemon='sometimes'/></metadata></domain>",
                                         "d.xml", err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--daemon"));
    options_free(&o);
    unlink(path);
    char *nofile[] = {"arom-vmm", "--domain-xml", "/nonexistent.xml", NULL};
    options_init(&o);
    CU_ASSERT_EQUAL(options_parse_argv(&o, 3, nofile, err, sizeof err), -EINVAL);
    options_free(&o);
    char *half[] = {"arom-vmm", "--domain", "x", NULL};
    options_init(&o);
    CU_ASSERT_EQUAL(options_parse_argv(&o, 3, half, err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "go together"));
    options_free(&o);
}

static void test_format_round_trip(void)
{
    struct vmm_options o;
    options_init(&o);
    char *argv[] = {"arom-vmm", "--mem", "64M", "--vcpus", "2", "--dram-budget", "30%", "p&q.elf", "x=<1>", NULL};
    CU_ASSERT_EQUAL_FATAL(options_parse_argv(&o, 9, argv, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(options_validate(&o, err, sizeof err), 0);
    char *xml = domain_xml_format(&o, "r1", "11111111-2222-4333-8444-555555555555");
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    struct domain_def d;
    CU_ASSERT_EQUAL_FATAL(parse(xml, &d), 0);
    CU_ASSERT_STRING_EQUAL(get(&d, "name"), "r1");
    CU_ASSERT_STRING_EQUAL(get(&d, "mem"), "67108864");
    CU_ASSERT_STRING_EQUAL(get(&d, "vcpus"), "2");
    CU_ASSERT_STRING_EQUAL(get(&d, "payload"), "p&q.elf");
    CU_ASSERT_STRING_EQUAL(get(&d, "args"), "x=<1>");
    CU_ASSERT_STRING_EQUAL(get(&d, "dram-budget"), "30%");
    free(xml);
    options_free(&o);
}

int register_domain_xml_tests(void)
{
    static const struct unit_test tests[] = {
        {"a full domain maps to settings", test_full_domain},
        {"memory units", test_memory_units},
        {"bad values", test_bad_values},
        {"missing elements", test_missing_elements},
        {"refused: type, devices, firmware, initrd, arch", test_refused},
        {"notes; foreign metadata ignored, arom's found by URI", test_notes_and_foreign_metadata},
        {"malformed XML: a clear error with the line", test_malformed},
        {"through the options: validated, the CLI overrides", test_options_apply_and_override},
        {"domain_xml_format round-trips", test_format_round_trip},
    };
    return ADD_SUITE("domain xml", tests);
}
