/* CUnit runner that speaks TAP, so automake's tap-driver counts every test
 * case (not just the binary) and the run can end with "N passed, N failed". */
#include <CUnit/Basic.h>
#include <CUnit/TestRun.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/suites.h"

static unsigned tap_index;

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
                             const CU_pFailureRecord failures)
{
    tap_index++;
    if (!failures) {
        printf("ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
        return;
    }
    printf("not ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
    for (CU_pFailureRecord f = failures; f; f = f->pNext)
        printf("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?",
               f->uiLineNumber, f->strCondition ? f->strCondition : "");
}

int add_suite(const char *name, const struct unit_test *tests, size_t n)
{
    CU_pSuite s = CU_add_suite(name, NULL, NULL);
    if (!s)
        return CU_get_error();
    for (size_t i = 0; i < n; i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn))
            return CU_get_error();
    return CUE_SUCCESS;
}

static int (*const registrars[])(void) = {
    register_elf_loader_tests,
    register_pagetable_tests,
    register_options_tests,
    register_hypercall_tests,
    register_ltram_tests,
    register_frame_alloc_tests,
    register_token_bucket_tests,
    register_placement_tests,
    register_policy_tests,
    register_fault_queue_tests,
    register_parse_tests,
    register_guard_tests,
    register_punch_tests,
    register_api_tests,
    register_budget_tests,
    register_aromd_tests,
    register_domain_xml_tests,
    register_linux_mm_tests,
};

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit-tests: CUnit init failed: %s\n", CU_get_error_msg());
        return 99;
    }
    for (size_t i = 0; i < sizeof registrars / sizeof registrars[0]; i++) {
        if (registrars[i]() != CUE_SUCCESS) {
            fprintf(stderr, "unit-tests: suite registration failed: %s\n", CU_get_error_msg());
            CU_cleanup_registry();
            return 99;
        }
    }
    printf("1..%u\n", CU_get_registry()->uiNumberOfTests);
    fflush(stdout);
    CU_set_test_complete_handler(on_test_complete);
    CU_run_all_tests();
    const CU_pRunSummary s = CU_get_run_summary();
    unsigned failed = s->nTestsFailed;
    printf("# CUnit: %u tests run, %u failed, %u asserts\n", s->nTestsRun, failed, s->nAsserts);
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
