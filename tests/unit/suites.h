/* Every CUnit suite of the unit-test binary registers itself through one of
 * these; tests/unit/main.c calls them all. Each returns 0 or a CUnit error. */
#ifndef AROM_TEST_SUITES_H
#define AROM_TEST_SUITES_H

#include <CUnit/CUnit.h>
#include <stddef.h>

struct unit_test {
    const char *name;
    CU_TestFunc fn;
};

/* Add suite `name` with its tests (no setup/teardown): CUE_SUCCESS or the
 * CUnit error. */
int add_suite(const char *name, const struct unit_test *tests, size_t n);
#define ADD_SUITE(name, tests) add_suite((name), (tests), sizeof(tests) / sizeof((tests)[0]))

int register_elf_loader_tests(void);
int register_pagetable_tests(void);
int register_options_tests(void);
int register_hypercall_tests(void);
int register_ltram_tests(void);
int register_frame_alloc_tests(void);
int register_token_bucket_tests(void);
int register_placement_tests(void);
int register_policy_tests(void);
int register_fault_queue_tests(void);
int register_parse_tests(void);
int register_guard_tests(void);
int register_punch_tests(void);
int register_api_tests(void);
int register_budget_tests(void);
int register_aromd_tests(void);
int register_domain_xml_tests(void);
int register_linux_mm_tests(void);

#endif
