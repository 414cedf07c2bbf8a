/* aromd's pure parts: its options and config, endpoints, the registry
 * listing, and the routes of its endpoint over an inventory of VMs whose
 * sockets are absent (the integration tests run real ones). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/aromd_options.h"
#include "host/host_api.h"
#include "host/http_client.h"
#include "host/registry.h"
#include "tests/unit/suites.h"

static int parse(struct aromd_options *o, const char *const *args, int n)
{
    char *argv[16] = {"aromd"}, err[256];
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    aromd_options_init(o);
    return aromd_options_parse(o, n + 1, argv, err, sizeof err);
}

static void test_options_defaults_and_overrides(void)
{
    struct aromd_options o;
    CU_ASSERT_EQUAL(parse(&o, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(o.listen, AROMD_LISTEN);
    CU_ASSERT_STRING_EQUAL(o.run_dir, AROMD_RUN_DIR);
    CU_ASSERT_FALSE(o.host_dram.set);
    CU_ASSERT_EQUAL(o.interval_ms, AROMD_INTERVAL_MS);
    const char *a[] = {"--listen", "unix:/tmp/x.sock", "--host-dram", "25%", "--interval-ms", "250", "--run-dir", "/tmp/r"};
    CU_ASSERT_EQUAL(parse(&o, a, 8), 0);
    CU_ASSERT_STRING_EQUAL(o.listen, "unix:/tmp/x.sock");
    CU_ASSERT_TRUE(o.host_dram.set && o.host_dram.pct && o.host_dram.percent == 25);
    CU_ASSERT_EQUAL(o.interval_ms, 250);
    CU_ASSERT_STRING_EQUAL(o.run_dir, "/tmp/r");
}

static void test_options_refuse_bad_values(void)
{
    struct aromd_options o;
    static const char *const bad[][2] = {
        {"--interval-ms", "99"}, {"--interval-ms", "60001"}, {"--interval-ms", "1s"}, {"--host-dram", "0"},
        {"--host-dram", "101%"}, {"--host-dram", "lots"}, {"--listen", "localhost:80"}, {"--listen", "1.2.3.4:0"},
        {"--listen", "1.2.3.4:65536"}, {"--listen", "unix:"}, {"--run-dir", ""}, {"--bogus", "1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(parse(&o, bad[i], 2), -EINVAL);
    const char *stray[] = {"extra"};
    CU_ASSERT_EQUAL(parse(&o, stray, 1), -EINVAL);
    const char *missing[] = {"--listen"};
    CU_ASSERT_EQUAL(parse(&o, missing, 1), -EINVAL);
}

static void test_config_file_under_the_command_line(void)
{
    char path[] = "/tmp/aromd-test-XXXXXX";
    int fd = mkstemp(path);
    const char *cfg = "{\"listen\": \"127.0.0.1:9999\", \"host_dram\": \"4G\", \"interval_ms\": 500}";
    CU_ASSERT_EQUAL(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
    close(fd);
    struct aromd_options o;
    const char *a[] = {"--interval-ms", "700", "--config", path};
    CU_ASSERT_EQUAL(parse(&o, a, 4), 0);
    CU_ASSERT_STRING_EQUAL(o.listen, "127.0.0.1:9999");
    CU_ASSERT_EQUAL(o.host_dram.bytes, 4ull << 30);
    CU_ASSERT_EQUAL(o.interval_ms, 700);    /* the command line wins wherever it stands */
    unlink(path);
    char err[256];
    aromd_options_init(&o);
    CU_ASSERT_EQUAL(aromd_options_json(&o, "{\"listen\": \"x\"}", "c", err, sizeof err), -EINVAL);
    CU_ASSERT_EQUAL(aromd_options_json(&o, "{\"colour\": 1}", "c", err, sizeof err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "colour"));
    CU_ASSERT_EQUAL(aromd_options_json(&o, "[1]", "c", err, sizeof err), -EINVAL);
    CU_ASSERT_EQUAL(aromd_options_json(&o, "{\"interval_ms\": [1]}", "c", err, sizeof err), -EINVAL);
    CU_ASSERT_EQUAL(aromd_options_json(&o, "{\"host_dram\": null}", "c", err, sizeof err), 0);
    CU_ASSERT_FALSE(o.host_dram.set);
    const char *nofile[] = {"--config", "/nonexistent/aromd.json"};
    CU_ASSERT_EQUAL(parse(&o, nofile, 2), -EINVAL);
}

static void test_endpoints(void)
{
    struct http_endpoint ep;
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "127.0.0.1:9470"), 0);
    CU_ASSERT_STRING_EQUAL(ep.addr, "127.0.0.1");
    CU_ASSERT_EQUAL(ep.port, 9470);
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "unix:/run/a.sock"), 0);
    CU_ASSERT_STRING_EQUAL(ep.path, "/run/a.sock");
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "/run/b.sock"), 0);
    CU_ASSERT_STRING_EQUAL(ep.path, "/run/b.sock");
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "9470"), -EINVAL);
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "::1:9470"), -EINVAL);
    CU_ASSERT_EQUAL(http_endpoint_parse(&ep, "127.0.0.1:x"), -EINVAL);
    char err[128];
    struct http_reply r;
    http_endpoint_unix(&ep, "/nonexistent/arom.sock");
    CU_ASSERT_EQUAL(http_request(&ep, "GET", "/", NULL, 100, &r, err, sizeof err), -ENOENT);
}

/* A unix socket file at path, bound and closed (so: stale). */
static void make_socket(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    CU_ASSERT_FATAL(strlen(path) < sizeof a.sun_path);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
}

static void test_registry_lists_valid_sockets_by_name(void)
{
    char dir[] = "/tmp/arom-reg-XXXXXX", vms[64], p[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    struct vm_entry *e;
    size_t n;
    char err[256];
    CU_ASSERT_EQUAL(registry_scan(dir, &e, &n, err, sizeof err), 0);   /* no vms/ yet: none */
    CU_ASSERT_EQUAL(n, 0);
    free(e);
    snprintf(vms, sizeof vms, "%s/vms", dir);
    mkdir(vms, 0700);
    CU_ASSERT_EQUAL(registry_scan(dir, &e, &n, err, sizeof err), 0);   /* empty: none (and no qsort of NULL) */
    CU_ASSERT_EQUAL(n, 0);
    free(e);
    const char *names[] = {"zeta.sock", "alpha.sock", ".hidden.sock", "bad name.sock", "notasock"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", vms, names[i]);
        make_socket(p);
    }
    snprintf(p, sizeof p, "%s/file.sock", vms);
    fclose(fopen(p, "w"));      /* not a socket: skipped */
    CU_ASSERT_EQUAL(registry_scan(dir, &e, &n, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(e[0].name, "alpha");
    CU_ASSERT_STRING_EQUAL(e[1].name, "zeta");
    /* refused but young: kept (it may be a VMM between bind and listen) */
    CU_ASSERT_FALSE(registry_drop_stale(e[0].sock, -ECONNREFUSED));
    CU_ASSERT_FALSE(registry_drop_stale(e[0].sock, -ETIMEDOUT));
    struct stat st;
    CU_ASSERT_EQUAL(lstat(e[0].sock, &st), 0);
    free(e);
    CU_ASSERT_EQUAL(registry_sock(dir, "../x", p, sizeof p), -EINVAL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* The endpoint's routes on an inventory with no VMs. */
static struct api_response call(struct host_api *h, const char *method, const char *path, const char *body)
{
    struct api_response r;
    host_api_handle(h, method, path, body ? body : "", body ? strlen(body) : 0, &r);
    return r;
}

static void expect(struct host_api *h, const char *method, const char *path, const char *body, unsigned status,
                   const char *needle)
{
    struct api_response r = call(h, method, path, body);
    CU_ASSERT_EQUAL(r.status, status);
    if (r.status != status)
        fprintf(stderr, "%s %s: %u %s\n", method, path, r.status, r.body);
    if (needle)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, needle));
    api_response_free(&r);
}

static void test_routes(void)
{
    struct inventory inv;
    CU_ASSERT_EQUAL_FATAL(inventory_init(&inv, "/nonexistent-arom", true, 1ull << 30), 0);
    struct host_api h = {.inv = &inv, .interval_ms = 1000, .listen = "127.0.0.1:0"};
    inventory_refresh(&inv);
    expect(&h, "GET", "/v1/host", NULL, 200, "\"allowance_bytes\":1073741824");
    expect(&h, "GET", "/v1/vms", NULL, 200, "\"vms\":[]");
    expect(&h, "GET", "/metrics", NULL, 200, "arom_host_vms 0");
    expect(&h, "POST", "/v1/host", NULL, 405, "allowed: GET");
    expect(&h, "GET", "/v1/vms/", NULL, 404, NULL);
    expect(&h, "GET", "/v1/vms/../etc", NULL, 404, NULL);
    expect(&h, "GET", "/v1/vms/nobody", NULL, 404, "no such VM: nobody");
    expect(&h, "PATCH", "/v1/vms/nobody", "{\"dram_budget\": \"1G\"}", 404, "no such VM");
    expect(&h, "PATCH", "/v1/vms/nobody", "{\"dram_budget\": 1, \"x\": 2}", 400, NULL);
    expect(&h, "PATCH", "/v1/vms/nobody", "{\"dram_budget\": [1]}", 400, "dram_budget");
    expect(&h, "PATCH", "/v1/vms/nobody", "{\"dram_budget\": 1", 400, "malformed JSON");
    expect(&h, "PATCH", "/v1/vms/nobody", "", 400, NULL);
    expect(&h, "DELETE", "/v1/vms/nobody", NULL, 405, "GET, PATCH");
    expect(&h, "GET", "/v1/nothing", NULL, 404, NULL);
    /* VMs of other hypervisors, reported by libvirt's hook */
    expect(&h, "PUT", "/v1/external/q1", "{\"driver\": \"qemu\", \"uuid\": \"ab-12\", \"mem_bytes\": 1024}", 200,
           "\"driver\":\"qemu\"");
    expect(&h, "GET", "/v1/vms", NULL, 200, "\"external\":[{\"name\":\"q1\",\"driver\":\"qemu\"");
    expect(&h, "GET", "/v1/host", NULL, 200, "\"external\":1");
    expect(&h, "PUT", "/v1/external/q1", "{\"driver\": \"QEMU\"}", 400, "bad value");
    expect(&h, "PUT", "/v1/external/q1", "{\"mem_bytes\": 1}", 400, "driver: required");
    expect(&h, "PUT", "/v1/external/q1", "{\"driver\": \"qemu\", \"x\": 1}", 400, "unknown field");
    expect(&h, "GET", "/v1/external/q1", NULL, 405, "PUT, DELETE");
    expect(&h, "DELETE", "/v1/external/q1", NULL, 200, NULL);
    expect(&h, "DELETE", "/v1/external/q1", NULL, 404, "no reported VM q1");
    expect(&h, "PUT", "/v1/external/..", "{\"driver\": \"qemu\"}", 404, NULL);
    inventory_fini(&inv);
}

int register_aromd_tests(void)
{
    static const struct unit_test tests[] = {
        {"options: defaults and overrides", test_options_defaults_and_overrides},
        {"options: bad values refused", test_options_refuse_bad_values},
        {"config file under the command line", test_config_file_under_the_command_line},
        {"endpoints", test_endpoints},
        {"registry lists valid sockets by name", test_registry_lists_valid_sockets_by_name},
        {"routes", test_routes},
    };
    return ADD_SUITE("aromd", tests);
}
