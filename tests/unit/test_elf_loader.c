/*
 * Unit tests for vmm/elf_loader.c.
 *
 * ELF images are built in memory (Elf64_Ehdr + Elf64_Phdrs + payload bytes)
 * and then damaged one field at a time. Every call hands the loader an
 * exactly-sized heap copy of the image and exactly-sized heap RAM filled with
 * a position-dependent canary, so under --enable-sanitizers ASan catches any
 * read past the file or write past RAM, and the canary catches any write the
 * loader should not have made.
 */
#include <CUnit/CUnit.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arom/abi.h"
#include "tests/unit/suites.h"
#include "vmm/elf_loader.h"

#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif

/* Guest RAM for the deterministic tests: the real load floor plus 64 KiB. */
#define RAM_SIZE   (AROM_LOAD_MIN + 0x10000)

/* Image layout, relative to the load base (GPA) and to the file start. */
#define IMG_CAP     0x3000
#define TEXT_OFF    0x1000   /* file offset == base-relative GPA */
#define TEXT_SZ     0x80
#define DATA_OFF    0x2000
#define DATA_FILESZ 0x20
#define DATA_MEMSZ  0x1800   /* bss spans past the next page boundary */
#define ENTRY_REL   (TEXT_OFF + 0x10)

/* Small setup for the fuzz loops, so checking all of RAM each round is cheap. */
#define FUZZ_BASE   0x10000ull
#define FUZZ_RAM    (FUZZ_BASE + 0x4000)
#define FUZZ_ROUNDS 4000

struct img {
    _Alignas(16) uint8_t b[IMG_CAP];
    size_t len;
};

/* ---- image builder ---------------------------------------------------- */

static uint8_t text_byte(size_t k) { return (uint8_t)((k * 7 + 1) & 0x7f); }
static uint8_t data_byte(size_t k) { return (uint8_t)((k * 13 + 3) & 0x7f); }

static Elf64_Ehdr eh_get(const struct img *im)
{
    Elf64_Ehdr eh;
    memcpy(&eh, im->b, sizeof eh);
    return eh;
}

static void eh_set(struct img *im, const Elf64_Ehdr *eh)
{
    memcpy(im->b, eh, sizeof *eh);
}

static Elf64_Phdr ph_get(const struct img *im, unsigned i)
{
    Elf64_Phdr ph;
    memcpy(&ph, im->b + sizeof(Elf64_Ehdr) + i * sizeof ph, sizeof ph);
    return ph;
}

static void ph_set(struct img *im, unsigned i, const Elf64_Phdr *ph)
{
    memcpy(im->b + sizeof(Elf64_Ehdr) + i * sizeof *ph, ph, sizeof *ph);
}

static Elf64_Phdr mk_phdr(uint32_t type, uint32_t flags, uint64_t off, uint64_t gpa,
                          uint64_t filesz, uint64_t memsz, uint64_t align)
{
    return (Elf64_Phdr){
        .p_type = type, .p_flags = flags, .p_offset = off, .p_vaddr = gpa, .p_paddr = gpa,
        .p_filesz = filesz, .p_memsz = memsz, .p_align = align,
    };
}

/* Append a program header (the table sits right after the ELF header). */
static void ph_add(struct img *im, const Elf64_Phdr *ph)
{
    Elf64_Ehdr eh = eh_get(im);
    CU_ASSERT_FATAL(sizeof(Elf64_Ehdr) + (eh.e_phnum + 1u) * sizeof *ph <= TEXT_OFF);
    ph_set(im, eh.e_phnum, ph);
    eh.e_phnum++;
    eh_set(im, &eh);
}

static void set_entry(struct img *im, uint64_t entry)
{
    Elf64_Ehdr eh = eh_get(im);
    eh.e_entry = entry;
    eh_set(im, &eh);
}

/*
 * A valid static executable loaded at base: segment 0 is text (R+X,
 * TEXT_SZ bytes at base+TEXT_OFF); with nload == 2, segment 1 is data (RW,
 * DATA_FILESZ bytes plus bss up to DATA_MEMSZ at base+DATA_OFF).
 */
static void img_build(struct img *im, uint64_t base, unsigned nload)
{
    memset(im, 0, sizeof *im);
    Elf64_Ehdr eh = {
        .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
        .e_entry = base + ENTRY_REL, .e_phoff = sizeof(Elf64_Ehdr),
        .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
    };
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_SYSV;
    eh_set(im, &eh);

    for (size_t k = 0; k < TEXT_SZ; k++)
        im->b[TEXT_OFF + k] = text_byte(k);
    Elf64_Phdr text = mk_phdr(PT_LOAD, PF_R | PF_X, TEXT_OFF, base + TEXT_OFF, TEXT_SZ,
                              TEXT_SZ, 0x1000);
    ph_add(im, &text);
    im->len = TEXT_OFF + TEXT_SZ;
    if (nload < 2)
        return;
    for (size_t k = 0; k < DATA_FILESZ; k++)
        im->b[DATA_OFF + k] = data_byte(k);
    Elf64_Phdr data = mk_phdr(PT_LOAD, PF_R | PF_W, DATA_OFF, base + DATA_OFF, DATA_FILESZ,
                              DATA_MEMSZ, 0x1000);
    ph_add(im, &data);
    im->len = DATA_OFF + DATA_FILESZ;
}

/* ---- guest RAM with canary -------------------------------------------- */

/* Prime period: the pattern is position dependent, yet cheap to fill and compare. */
#define CANARY_PERIOD 4093u

static uint8_t canary(uint64_t i)
{
    /* Never 0 (so bss zeroing shows) and never < 0x80 (so payload bytes show). */
    return (uint8_t)(0x80 | (((uint32_t)(i % CANARY_PERIOD) * 0x9E3779B1u) >> 25));
}

/* Two periods of the pattern, so any phase can be compared in one chunk. */
static void canary_ref(uint8_t ref[static 2 * CANARY_PERIOD])
{
    for (uint64_t i = 0; i < 2 * CANARY_PERIOD; i++)
        ref[i] = canary(i);
}

static void canary_fill(uint8_t *ram, uint64_t lo, uint64_t hi)
{
    uint8_t ref[2 * CANARY_PERIOD];
    canary_ref(ref);
    for (uint64_t i = lo; i < hi;) {
        uint64_t n = hi - i < CANARY_PERIOD ? hi - i : CANARY_PERIOD;
        memcpy(ram + i, ref + i % CANARY_PERIOD, n);
        i += n;
    }
}

static bool canary_ok(const uint8_t *ram, uint64_t lo, uint64_t hi)
{
    uint8_t ref[2 * CANARY_PERIOD];
    canary_ref(ref);
    for (uint64_t i = lo; i < hi;) {
        uint64_t n = hi - i < CANARY_PERIOD ? hi - i : CANARY_PERIOD;
        if (memcmp(ram + i, ref + i % CANARY_PERIOD, n) != 0)
            return false;
        i += n;
    }
    return true;
}

static uint8_t *ram_new(uint64_t size)
{
    uint8_t *ram = malloc(size);
    CU_ASSERT_FATAL(ram != NULL);
    canary_fill(ram, 0, size);
    return ram;
}

/* Exactly-sized heap copy, so ASan flags any read past the end of the file. */
static uint8_t *file_copy(const void *src, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    CU_ASSERT_FATAL(p != NULL);
    if (len)
        memcpy(p, src, len);
    return p;
}

/* ---- load / reject helpers -------------------------------------------- */

static bool info_unchanged(const struct elf_image_info *info)
{
    struct elf_image_info ref;
    memset(&ref, 0x5a, sizeof ref);
    return memcmp(info, &ref, sizeof ref) == 0;
}

/*
 * Load len bytes of im and expect failure with code and an error message
 * containing needle; RAM and *info must be untouched.
 */
static void reject_ex(const struct img *im, size_t len, uint64_t ram_size, uint64_t min_gpa,
                      int code, const char *needle)
{
    uint8_t *ram = ram_new(ram_size);
    uint8_t *file = file_copy(im->b, len);
    struct elf_image_info info;
    char err[256] = "";

    memset(&info, 0x5a, sizeof info);
    int ret = elf_load(file, len, ram, ram_size, min_gpa, &info, err, sizeof err);
    CU_ASSERT_EQUAL(ret, code);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT(strchr(err, '\n') == NULL);
    if (needle && !strstr(err, needle)) {
        fprintf(stdout, "# expected \"%s\" in error \"%s\"\n", needle, err);
        CU_FAIL("error message lacks the expected text");
    }
    CU_ASSERT(canary_ok(ram, 0, ram_size));
    CU_ASSERT(info_unchanged(&info));
    free(file);
    free(ram);
}

static void reject(const struct img *im, int code, const char *needle)
{
    reject_ex(im, im->len, RAM_SIZE, AROM_LOAD_MIN, code, needle);
}

/* Load im into fresh RAM and expect success; returns RAM for inspection. */
static uint8_t *load_ok(const struct img *im, uint64_t ram_size, uint64_t min_gpa,
                        struct elf_image_info *info)
{
    uint8_t *ram = ram_new(ram_size);
    uint8_t *file = file_copy(im->b, im->len);
    char err[256] = "stale";

    int ret = elf_load(file, im->len, ram, ram_size, min_gpa, info, err, sizeof err);
    CU_ASSERT_EQUAL(ret, 0);
    if (ret != 0)
        fprintf(stdout, "# unexpected error: %s\n", err);
    CU_ASSERT_STRING_EQUAL(err, "");
    free(file);
    return ram;
}

static bool text_ok(const uint8_t *ram, uint64_t gpa)
{
    for (size_t k = 0; k < TEXT_SZ; k++)
        if (ram[gpa + k] != text_byte(k))
            return false;
    return true;
}

static bool data_ok(const uint8_t *ram, uint64_t gpa)
{
    for (size_t k = 0; k < DATA_FILESZ; k++)
        if (ram[gpa + k] != data_byte(k))
            return false;
    for (size_t k = DATA_FILESZ; k < DATA_MEMSZ; k++)
        if (ram[gpa + k] != 0)
            return false;
    return true;
}

/* ---- valid images ----------------------------------------------------- */

static void test_load_one_segment(void)
{
    const uint64_t base = AROM_LOAD_MIN, text = base + TEXT_OFF;
    struct img im;
    struct elf_image_info info;

    img_build(&im, base, 1);
    uint8_t *ram = load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info);
    CU_ASSERT_EQUAL(info.entry, base + ENTRY_REL);
    CU_ASSERT_EQUAL(info.load_start, text);
    CU_ASSERT_EQUAL(info.load_end, text + TEXT_SZ);
    CU_ASSERT_EQUAL(info.segments, 1);
    CU_ASSERT(text_ok(ram, text));
    CU_ASSERT(canary_ok(ram, 0, text));
    CU_ASSERT(canary_ok(ram, text + TEXT_SZ, RAM_SIZE));
    free(ram);
}

static void test_load_two_segments(void)
{
    const uint64_t base = AROM_LOAD_MIN, text = base + TEXT_OFF, data = base + DATA_OFF;
    struct img im;
    struct elf_image_info info;

    img_build(&im, base, 2);
    uint8_t *ram = load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info);
    CU_ASSERT_EQUAL(info.entry, base + ENTRY_REL);
    CU_ASSERT_EQUAL(info.load_start, text);
    CU_ASSERT_EQUAL(info.load_end, data + DATA_MEMSZ);
    CU_ASSERT_EQUAL(info.segments, 2);
    CU_ASSERT(text_ok(ram, text));
    CU_ASSERT(data_ok(ram, data)); /* file bytes copied, bss zeroed */
    CU_ASSERT(canary_ok(ram, 0, text));
    CU_ASSERT(canary_ok(ram, text + TEXT_SZ, data)); /* gap between segments */
    CU_ASSERT(canary_ok(ram, data + DATA_MEMSZ, RAM_SIZE));
    free(ram);
}

/* Segments listed out of address order load the same; info still spans both. */
static void test_load_unsorted_segments(void)
{
    const uint64_t base = AROM_LOAD_MIN;
    struct img im;
    struct elf_image_info info;

    img_build(&im, base, 2);
    Elf64_Phdr p0 = ph_get(&im, 0), p1 = ph_get(&im, 1);
    ph_set(&im, 0, &p1);
    ph_set(&im, 1, &p0);
    uint8_t *ram = load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info);
    CU_ASSERT_EQUAL(info.load_start, base + TEXT_OFF);
    CU_ASSERT_EQUAL(info.load_end, base + DATA_OFF + DATA_MEMSZ);
    CU_ASSERT_EQUAL(info.segments, 2);
    CU_ASSERT(text_ok(ram, base + TEXT_OFF));
    CU_ASSERT(data_ok(ram, base + DATA_OFF));
    free(ram);
}

/* PT_GNU_STACK, PT_NOTE, PT_GNU_PROPERTY & co. are ignored; an empty PT_LOAD is skipped. */
static void test_ignored_phdrs(void)
{
    const uint64_t base = AROM_LOAD_MIN;
    struct img im;
    struct elf_image_info info;

    img_build(&im, base, 2);
    Elf64_Phdr extra[] = {
        mk_phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16),
        mk_phdr(PT_NOTE, PF_R, TEXT_OFF, base + TEXT_OFF, 0x10, 0x10, 4),
        mk_phdr(PT_GNU_PROPERTY, PF_R, TEXT_OFF, base + TEXT_OFF, 0x10, 0x10, 8),
        mk_phdr(PT_GNU_EH_FRAME, PF_R, TEXT_OFF, base + TEXT_OFF, 0x10, 0x10, 4),
        mk_phdr(PT_GNU_RELRO, PF_R, DATA_OFF, base + DATA_OFF, 0x10, 0x10, 1),
        mk_phdr(PT_NULL, 0, 0, 0, 0, 0, 0),
        mk_phdr(PT_LOAD, PF_R, 0, 0, 0, 0, 0x1000), /* zero-sized: below min_gpa, yet fine */
        mk_phdr(PT_LOOS + 0x1234, 0, 0, 0, 0, 0, 0), /* unknown OS-specific */
    };
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        ph_add(&im, &extra[i]);
    uint8_t *ram = load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info);
    CU_ASSERT_EQUAL(info.segments, 2);
    CU_ASSERT_EQUAL(info.load_start, base + TEXT_OFF);
    CU_ASSERT_EQUAL(info.load_end, base + DATA_OFF + DATA_MEMSZ);
    CU_ASSERT(text_ok(ram, base + TEXT_OFF));
    CU_ASSERT(data_ok(ram, base + DATA_OFF));
    CU_ASSERT(canary_ok(ram, 0, base + TEXT_OFF));
    free(ram);
}

/* A segment may start exactly at min_gpa and end exactly at ram_size. */
static void test_load_exact_bounds(void)
{
    const uint64_t text = AROM_LOAD_MIN + TEXT_OFF;
    struct img im;
    struct elf_image_info info;

    img_build(&im, AROM_LOAD_MIN, 1);
    uint8_t *ram = load_ok(&im, text + TEXT_SZ, text, &info);
    CU_ASSERT_EQUAL(info.load_start, text);
    CU_ASSERT_EQUAL(info.load_end, text + TEXT_SZ);
    CU_ASSERT(text_ok(ram, text));
    CU_ASSERT(canary_ok(ram, 0, text));
    free(ram);
    reject_ex(&im, im.len, text + TEXT_SZ, text + 1, -ERANGE, "below");
    reject_ex(&im, im.len, text + TEXT_SZ - 1, text, -E2BIG, "beyond end of guest RAM");
}

/* Touching (not overlapping) segments are fine; info NULL and a tiny err buffer too. */
static void test_load_adjacent_segments(void)
{
    const uint64_t text = AROM_LOAD_MIN + TEXT_OFF;
    struct img im;

    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr d = ph_get(&im, 1);
    d.p_vaddr = d.p_paddr = text + TEXT_SZ;
    d.p_align = 0x10;
    ph_set(&im, 1, &d);

    uint8_t *ram = ram_new(RAM_SIZE);
    char err[1] = { 'x' };
    CU_ASSERT_EQUAL(elf_load(im.b, im.len, ram, RAM_SIZE, AROM_LOAD_MIN, NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL(err[0], '\0');
    CU_ASSERT(text_ok(ram, text));
    CU_ASSERT(data_ok(ram, text + TEXT_SZ));
    CU_ASSERT(canary_ok(ram, text + TEXT_SZ + DATA_MEMSZ, RAM_SIZE));
    free(ram);
}

/* ---- ELF header ------------------------------------------------------- */

static void test_short_file(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    reject_ex(&im, sizeof(Elf64_Ehdr) - 1, RAM_SIZE, AROM_LOAD_MIN, -ENOEXEC, "shorter");
    reject_ex(&im, 4, RAM_SIZE, AROM_LOAD_MIN, -ENOEXEC, "shorter");
    reject_ex(&im, 0, RAM_SIZE, AROM_LOAD_MIN, -ENOEXEC, "shorter");
    /* Header complete but program header table cut off. */
    reject_ex(&im, sizeof(Elf64_Ehdr) + 8, RAM_SIZE, AROM_LOAD_MIN, -ENOEXEC, "beyond end of file");
}

static void test_bad_magic(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_MAG1] = 'X';
    reject(&im, -ENOEXEC, "bad magic");
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_MAG0] = 0;
    reject(&im, -ENOEXEC, "bad magic");
}

static void test_class32(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_CLASS] = ELFCLASS32;
    reject(&im, -ENOEXEC, "ELFCLASS64");
    im.b[EI_CLASS] = ELFCLASSNONE;
    reject(&im, -ENOEXEC, "ELFCLASS64");
}

static void test_big_endian(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_DATA] = ELFDATA2MSB;
    reject(&im, -ENOEXEC, "little-endian");
}

static void test_bad_version_osabi(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_VERSION] = 2;
    reject(&im, -ENOEXEC, "EV_CURRENT");

    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_version = 0;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "EV_CURRENT");

    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_OSABI] = ELFOSABI_FREEBSD;
    reject(&im, -ENOEXEC, "OS ABI");

    struct elf_image_info info;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_OSABI] = ELFOSABI_GNU; /* static glibc binaries carry this */
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
}

static void test_wrong_machine(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_machine = EM_AARCH64;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "EM_X86_64");
    eh.e_machine = EM_386;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "EM_X86_64");
}

static void test_et_dyn(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_type = ET_DYN;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "position-independent");
}

static void test_other_types(void)
{
    static const uint16_t types[] = { ET_NONE, ET_REL, ET_CORE, 0xfe00, 0xffff };
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        Elf64_Ehdr eh = eh_get(&im);
        eh.e_type = types[i];
        eh_set(&im, &eh);
        reject(&im, -ENOEXEC, "ET_EXEC");
    }
}

static void test_bad_header_sizes(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_ehsize = 52; /* the ELF32 size */
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "e_ehsize");

    img_build(&im, AROM_LOAD_MIN, 1);
    eh = eh_get(&im);
    eh.e_phentsize = 32; /* the ELF32 size */
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "e_phentsize");
    eh.e_phentsize = 0;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "e_phentsize");
    eh.e_phentsize = 0xffff;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "e_phentsize");
}

/* ---- program header table --------------------------------------------- */

static void test_phoff_beyond_file(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_phoff = im.len;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "beyond end of file");
    eh.e_phoff = im.len - sizeof(Elf64_Phdr); /* first entry fits, second does not */
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "beyond end of file");
    eh.e_phoff = 1ull << 40;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "beyond end of file");
}

static void test_phoff_overlaps_ehdr(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_phoff = 0;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "overlaps the ELF header");
    eh.e_phoff = sizeof(Elf64_Ehdr) - 8;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "overlaps the ELF header");
}

/* e_phoff + e_phnum * e_phentsize wraps around 2^64. */
static void test_phtable_overflow(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_phoff = ~0ull - 10;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "overflows");
    eh.e_phoff = ~0ull - (sizeof(Elf64_Phdr) * 64 - 1);
    eh.e_phnum = 64;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "overflows");
}

/* Many program headers claimed, table runs past the end of a short file. */
static void test_phtable_beyond_file(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_phnum = 64;
    eh_set(&im, &eh);
    reject_ex(&im, 0x200, RAM_SIZE, AROM_LOAD_MIN, -ENOEXEC, "beyond end of file");
}

static void test_phnum_bad(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Ehdr eh = eh_get(&im);
    eh.e_phnum = 0;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "e_phnum is 0");
    eh.e_phnum = PN_XNUM;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "PN_XNUM");
    eh.e_phnum = ELF_LOAD_MAX_PHNUM + 1;
    eh_set(&im, &eh);
    reject(&im, -ENOEXEC, "exceeds the limit");
}

/* The maximum of 64 program headers is accepted. */
static void test_phnum_max(void)
{
    struct img im;
    struct elf_image_info info;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr note = mk_phdr(PT_NOTE, PF_R, TEXT_OFF, AROM_LOAD_MIN + TEXT_OFF, 4, 4, 4);
    while (eh_get(&im).e_phnum < ELF_LOAD_MAX_PHNUM)
        ph_add(&im, &note);
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
    CU_ASSERT_EQUAL(info.segments, 2);
}

/* ---- PT_LOAD: file side ----------------------------------------------- */

static void test_filesz_gt_memsz(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_memsz = p.p_filesz - 1;
    ph_set(&im, 1, &p);
    reject(&im, -ENOEXEC, "segment 1: p_filesz");
    p.p_memsz = 0; /* an "empty" segment must not carry file bytes either */
    ph_set(&im, 1, &p);
    reject(&im, -ENOEXEC, "segment 1: p_filesz");
}

static void test_offset_beyond_file(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_filesz = DATA_FILESZ + 1; /* one byte past the end */
    ph_set(&im, 1, &p);
    reject(&im, -ENOEXEC, "segment 1: p_offset+p_filesz (0x2021) beyond end of file (0x2020)");

    img_build(&im, AROM_LOAD_MIN, 2);
    p = ph_get(&im, 0);
    p.p_offset = DATA_OFF; /* text segment pointing at the short data area */
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "segment 0: p_offset+p_filesz");
}

static void test_offset_overflow(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_offset = ~0ull - 0x10;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "overflows");
    p.p_offset = 1ull << 63;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "beyond end of file");
}

static void test_vaddr_ne_paddr(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_vaddr += 0x1000;
    ph_set(&im, 1, &p);
    reject(&im, -ENOEXEC, "identity mapped");
    p.p_vaddr = 0xffffffff80000000ull + DATA_OFF; /* typical higher-half link address */
    ph_set(&im, 1, &p);
    reject(&im, -ENOEXEC, "p_vaddr");
}

static void test_bad_align(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_align = 0x3000;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "power of two");
    p.p_align = ~0ull;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "power of two");

    /* Power of two but p_vaddr and p_offset disagree modulo p_align. */
    img_build(&im, AROM_LOAD_MIN, 1);
    p = ph_get(&im, 0);
    p.p_vaddr = p.p_paddr = p.p_vaddr + 8;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "congruent");

    /* p_align 0 and 1 mean "no constraint". */
    struct elf_image_info info;
    p.p_align = 0;
    ph_set(&im, 0, &p);
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
    p.p_align = 1;
    ph_set(&im, 0, &p);
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
    CU_ASSERT_EQUAL(info.load_start, AROM_LOAD_MIN + TEXT_OFF + 8);
}

/* ---- PT_LOAD: guest addresses ----------------------------------------- */

static void test_paddr_below_min(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN - 0x2000, 1); /* text at 0x3ff000 */
    reject(&im, -ERANGE, "below the lowest loadable address");

    img_build(&im, 0, 2); /* text at 0x1000: over the boot info page */
    reject(&im, -ERANGE, "segment 0: p_paddr (0x1000) below");
}

static void test_end_beyond_ram(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_vaddr = p.p_paddr = RAM_SIZE - 0x1000; /* bss runs 0x800 past the end */
    ph_set(&im, 1, &p);
    reject(&im, -E2BIG, "segment 1: p_paddr+p_memsz");

    img_build(&im, RAM_SIZE, 1); /* starts beyond RAM altogether */
    reject(&im, -E2BIG, "beyond end of guest RAM");
}

static void test_end_overflow(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_vaddr = p.p_paddr = ~0ull - 10;
    p.p_align = 1;
    ph_set(&im, 1, &p);
    reject(&im, -ERANGE, "overflows");
    p.p_memsz = ~0ull;
    ph_set(&im, 1, &p);
    reject(&im, -ERANGE, "overflows");
}

static void test_huge_memsz(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 1);
    p.p_memsz = 1ull << 62;
    ph_set(&im, 1, &p);
    reject(&im, -E2BIG, "beyond end of guest RAM");
    p.p_memsz = ~0ull - p.p_paddr; /* ends exactly at 2^64 - 1 */
    ph_set(&im, 1, &p);
    reject(&im, -E2BIG, "beyond end of guest RAM");
}

static void test_overlapping_segments(void)
{
    const uint64_t text = AROM_LOAD_MIN + TEXT_OFF;
    static const uint64_t starts[] = { 0x40, 0x7f, 0, (uint64_t)-0x10 };
    struct img im;

    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
        img_build(&im, AROM_LOAD_MIN, 2);
        Elf64_Phdr p = ph_get(&im, 1);
        p.p_vaddr = p.p_paddr = text + starts[i];
        p.p_align = 1;
        ph_set(&im, 1, &p);
        reject(&im, -ENOEXEC, "overlap");
    }

    /* A third segment sitting inside the bss of the data segment. */
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr inner = mk_phdr(PT_LOAD, PF_R, TEXT_OFF, AROM_LOAD_MIN + DATA_OFF + 0x1000,
                               0x10, 0x10, 0x1000);
    ph_add(&im, &inner);
    reject(&im, -ENOEXEC, "segments 1 [0x402000, 0x403800) and 2 [0x403000, 0x403010) overlap");
}

static void test_no_pt_load(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    for (unsigned i = 0; i < 2; i++) {
        Elf64_Phdr p = ph_get(&im, i);
        p.p_type = PT_NOTE;
        ph_set(&im, i, &p);
    }
    reject(&im, -ENOEXEC, "no loadable segments");

    /* Only zero-sized PT_LOADs. */
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_filesz = p.p_memsz = 0;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "no loadable segments");
}

/* ---- entry point ------------------------------------------------------ */

static void test_entry_outside(void)
{
    static const uint64_t entries[] = {
        0, AROM_LOAD_MIN, AROM_LOAD_MIN + TEXT_OFF - 1, AROM_LOAD_MIN + TEXT_OFF + TEXT_SZ,
        AROM_LOAD_MIN + DATA_OFF + DATA_MEMSZ, RAM_SIZE, ~0ull,
    };
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        set_entry(&im, entries[i]);
        reject(&im, -ENOEXEC, "outside every loadable segment");
    }
    /* First and last byte of the text segment are fine. */
    struct elf_image_info info;
    set_entry(&im, AROM_LOAD_MIN + TEXT_OFF);
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
    set_entry(&im, AROM_LOAD_MIN + TEXT_OFF + TEXT_SZ - 1);
    free(load_ok(&im, RAM_SIZE, AROM_LOAD_MIN, &info));
    CU_ASSERT_EQUAL(info.entry, AROM_LOAD_MIN + TEXT_OFF + TEXT_SZ - 1);
}

static void test_entry_not_exec(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    set_entry(&im, AROM_LOAD_MIN + DATA_OFF);
    reject(&im, -ENOEXEC, "segment 1, which is not executable");

    /* Clearing PF_X on the text segment is caught too. */
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_flags = PF_R;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "not executable");
}

static void test_entry_in_bss(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_memsz = 0x100;
    ph_set(&im, 0, &p);
    set_entry(&im, AROM_LOAD_MIN + TEXT_OFF + TEXT_SZ);
    reject(&im, -ENOEXEC, "zero-filled");
}

/* ---- unsupported program headers -------------------------------------- */

static void test_pt_interp(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr interp = mk_phdr(PT_INTERP, PF_R, DATA_OFF, AROM_LOAD_MIN + DATA_OFF, 0x10,
                                0x10, 1);
    ph_add(&im, &interp);
    reject(&im, -ENOEXEC, "dynamically linked payloads are not supported");

    /* Reported as such even when a PT_LOAD before it is broken too. */
    Elf64_Phdr p = ph_get(&im, 0);
    p.p_paddr = 0;
    ph_set(&im, 0, &p);
    reject(&im, -ENOEXEC, "segment 2: PT_INTERP");
}

static void test_pt_dynamic_tls(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr dyn = mk_phdr(PT_DYNAMIC, PF_R | PF_W, DATA_OFF, AROM_LOAD_MIN + DATA_OFF,
                             0x10, 0x10, 8);
    ph_add(&im, &dyn);
    reject(&im, -ENOEXEC, "PT_DYNAMIC");

    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr tls = mk_phdr(PT_TLS, PF_R, DATA_OFF, AROM_LOAD_MIN + DATA_OFF, 0x10, 0x20, 8);
    ph_add(&im, &tls);
    reject(&im, -ENOEXEC, "thread-local storage");

    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr shlib = mk_phdr(PT_SHLIB, 0, 0, 0, 0, 0, 0);
    ph_add(&im, &shlib);
    reject(&im, -ENOEXEC, "PT_SHLIB");

    img_build(&im, AROM_LOAD_MIN, 2);
    Elf64_Phdr unknown = mk_phdr(0x1234, 0, 0, 0, 0, 0, 0);
    ph_add(&im, &unknown);
    reject(&im, -ENOEXEC, "unknown program header type 0x1234");
}

/* ---- API edges -------------------------------------------------------- */

static void test_bad_arguments(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    uint8_t *ram = ram_new(RAM_SIZE);
    char err[64] = "";

    CU_ASSERT_EQUAL(elf_load(NULL, im.len, ram, RAM_SIZE, AROM_LOAD_MIN, NULL, err, sizeof err),
                    -EINVAL);
    CU_ASSERT(err[0] != '\0');
    err[0] = '\0';
    CU_ASSERT_EQUAL(elf_load(im.b, im.len, NULL, RAM_SIZE, AROM_LOAD_MIN, NULL, err, sizeof err),
                    -EINVAL);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT(canary_ok(ram, 0, RAM_SIZE));
    free(ram);
}

/* Error text is truncated safely; err may be NULL with errlen 0. */
static void test_error_buffer(void)
{
    struct img im;
    img_build(&im, AROM_LOAD_MIN, 1);
    im.b[EI_CLASS] = ELFCLASS32;
    uint8_t *ram = ram_new(RAM_SIZE);
    char err[16];

    memset(err, 'x', sizeof err);
    CU_ASSERT_EQUAL(elf_load(im.b, im.len, ram, RAM_SIZE, AROM_LOAD_MIN, NULL, err, 8), -ENOEXEC);
    CU_ASSERT_EQUAL(strlen(err), 7);
    CU_ASSERT_EQUAL(err[8], 'x'); /* nothing written past errlen */
    memset(err, 'x', sizeof err);
    CU_ASSERT_EQUAL(elf_load(im.b, im.len, ram, RAM_SIZE, AROM_LOAD_MIN, NULL, err, 1), -ENOEXEC);
    CU_ASSERT_EQUAL(err[0], '\0');
    CU_ASSERT_EQUAL(err[1], 'x');
    CU_ASSERT_EQUAL(elf_load(im.b, im.len, ram, RAM_SIZE, AROM_LOAD_MIN, NULL, NULL, 0), -ENOEXEC);
    CU_ASSERT(canary_ok(ram, 0, RAM_SIZE));
    free(ram);
}

/* ---- elf_read_file ---------------------------------------------------- */

/* Write len bytes to a fresh temp file; returns its path in tmpl. */
static bool write_temp(char tmpl[static 32], const void *data, size_t len)
{
    strcpy(tmpl, "/tmp/arom-elf-XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return false;
    bool ok = len == 0 || write(fd, data, len) == (ssize_t)len;
    close(fd);
    return ok;
}

static void test_read_nonexistent(void)
{
    void *buf = (void *)1;
    size_t len = 99;
    char err[256] = "";
    const char *path = "/nonexistent/arom/payload.elf";

    CU_ASSERT_EQUAL(elf_read_file(path, 1 << 20, &buf, &len, err, sizeof err), -ENOENT);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));

    err[0] = '\0';
    CU_ASSERT_EQUAL(elf_read_file("/tmp", 1 << 20, &buf, &len, err, sizeof err), -EISDIR);
    CU_ASSERT(err[0] != '\0');
    CU_ASSERT_PTR_NULL(buf);
}

static void test_read_too_large(void)
{
    static uint8_t data[4096];
    char path[32];
    void *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31);
    CU_ASSERT_FATAL(write_temp(path, data, sizeof data));

    CU_ASSERT_EQUAL(elf_read_file(path, sizeof data - 1, &buf, &len, err, sizeof err), -EFBIG);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than the limit"));

    /* Exactly max_len bytes is fine, and the contents round-trip. */
    err[0] = '\0';
    CU_ASSERT_EQUAL(elf_read_file(path, sizeof data, &buf, &len, err, sizeof err), 0);
    CU_ASSERT_EQUAL(len, sizeof data);
    CU_ASSERT(buf && memcmp(buf, data, sizeof data) == 0);
    free(buf);
    unlink(path);
}

static void test_read_empty(void)
{
    char path[32];
    void *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    CU_ASSERT_FATAL(write_temp(path, NULL, 0));
    CU_ASSERT_EQUAL(elf_read_file(path, 1 << 20, &buf, &len, err, sizeof err), -ENOEXEC);
    CU_ASSERT_PTR_NULL(buf);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "empty"));
    unlink(path);
}

/* A file whose size fstat does not know (procfs) is read to EOF and still bounded. */
static void test_read_unsized_file(void)
{
    const char *path = "/proc/self/status";
    void *buf = NULL;
    size_t len = 0;
    char err[256] = "";

    if (access(path, R_OK) != 0)
        return; /* no procfs: nothing to test */
    CU_ASSERT_EQUAL(elf_read_file(path, 1 << 20, &buf, &len, err, sizeof err), 0);
    CU_ASSERT(len > 16);
    free(buf);
    buf = NULL;
    CU_ASSERT_EQUAL(elf_read_file(path, 16, &buf, &len, err, sizeof err), -EFBIG);
    CU_ASSERT_PTR_NULL(buf);
}

/* Read a valid image back from disk and load it. */
static void test_read_and_load(void)
{
    struct img im;
    char path[32];
    void *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    struct elf_image_info info;

    img_build(&im, AROM_LOAD_MIN, 2);
    CU_ASSERT_FATAL(write_temp(path, im.b, im.len));
    CU_ASSERT_EQUAL_FATAL(elf_read_file(path, 256u << 20, &buf, &len, err, sizeof err), 0);
    unlink(path);
    CU_ASSERT_EQUAL(len, im.len);

    uint8_t *ram = ram_new(RAM_SIZE);
    CU_ASSERT_EQUAL(elf_load(buf, len, ram, RAM_SIZE, AROM_LOAD_MIN, &info, err, sizeof err), 0);
    CU_ASSERT_EQUAL(info.segments, 2);
    CU_ASSERT(text_ok(ram, AROM_LOAD_MIN + TEXT_OFF));
    CU_ASSERT(data_ok(ram, AROM_LOAD_MIN + DATA_OFF));
    free(ram);
    free(buf);
}

/* ---- fuzz-ish --------------------------------------------------------- */

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t interesting(uint64_t *rng, size_t len)
{
    const uint64_t v[] = {
        0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff,
        FUZZ_BASE - 1, FUZZ_BASE, FUZZ_BASE + TEXT_OFF, FUZZ_BASE + DATA_OFF, FUZZ_RAM - 1,
        FUZZ_RAM, len - 1, len, len + 1, 1ull << 62, INT64_MAX, 1ull << 63, ~0ull, ~0ull - 10,
    };
    uint64_t r = xorshift64(rng);
    return r % 4 == 0 ? xorshift64(rng) : v[r / 4 % (sizeof v / sizeof v[0])];
}

/* Apply one random mutation to file[0..*len), biased towards the headers. */
static void mutate(uint8_t *file, size_t *len, uint64_t *rng, size_t hdr_len)
{
    uint64_t r = xorshift64(rng);
    size_t hot = hdr_len < *len ? hdr_len : *len;
    if (*len == 0)
        return;
    size_t off = (r >> 8) % ((r & 0x30) && hot ? hot : *len);

    switch (r & 7) {
    case 0: case 1:      /* flip a bit */
        file[off] ^= (uint8_t)(1u << (xorshift64(rng) & 7));
        break;
    case 2:              /* random byte */
        file[off] = (uint8_t)xorshift64(rng);
        break;
    case 3: case 4: {    /* interesting 64-bit value into a header field */
        uint64_t v = interesting(rng, *len);
        off &= ~(size_t)7;
        size_t n = *len - off < 8 ? *len - off : 8;
        memcpy(file + off, &v, n);
        break;
    }
    case 5: {            /* interesting 16-bit value (e_type, e_phnum, ...) */
        uint16_t v = (uint16_t)interesting(rng, *len);
        off &= ~(size_t)1;
        size_t n = *len - off < 2 ? *len - off : 2;
        memcpy(file + off, &v, n);
        break;
    }
    case 6:              /* copy a 4-byte word from one header spot to another */
        if (hot >= 8) {
            size_t from = (size_t)(xorshift64(rng) % (hot - 4));
            memmove(file + (off % (hot - 4)), file + from, 4);
        }
        break;
    default:             /* truncate */
        *len = (size_t)(xorshift64(rng) % (*len + 1));
        break;
    }
}

/* Check one fuzzed load: success must be coherent, failure must be clean. */
static bool fuzz_one(const uint8_t *src, size_t len, uint8_t *ram, int *outcome)
{
    uint8_t *file = file_copy(src, len);
    struct elf_image_info info;
    char err[256] = "stale";
    bool ok;

    memset(&info, 0x5a, sizeof info);
    int ret = elf_load(file, len, ram, FUZZ_RAM, FUZZ_BASE, &info, err, sizeof err);
    free(file);
    *outcome = ret;
    if (ret == 0) {
        ok = err[0] == '\0' && info.segments >= 1 && info.segments <= ELF_LOAD_MAX_PHNUM &&
             info.load_start >= FUZZ_BASE && info.load_start < info.load_end &&
             info.load_end <= FUZZ_RAM && info.entry >= info.load_start &&
             info.entry < info.load_end && canary_ok(ram, 0, info.load_start) &&
             canary_ok(ram, info.load_end, FUZZ_RAM);
        if (info.load_start < info.load_end && info.load_end <= FUZZ_RAM)
            canary_fill(ram, info.load_start, info.load_end);
    } else {
        ok = (ret == -ENOEXEC || ret == -ERANGE || ret == -E2BIG) && err[0] != '\0' &&
             strlen(err) < sizeof err && info_unchanged(&info) && canary_ok(ram, 0, FUZZ_RAM);
    }
    if (!ok)
        fprintf(stdout, "# fuzz: ret %d, err \"%s\"\n", ret, err);
    return ok;
}

static void test_fuzz_mutations(void)
{
    struct img im;
    uint8_t *work = malloc(IMG_CAP);
    uint8_t *ram = ram_new(FUZZ_RAM);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    unsigned loads = 0, rejects = 0;

    CU_ASSERT_FATAL(work != NULL);
    img_build(&im, FUZZ_BASE, 2);
    Elf64_Phdr stack = mk_phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 16);
    ph_add(&im, &stack);
    const size_t hdr_len = sizeof(Elf64_Ehdr) + eh_get(&im).e_phnum * sizeof(Elf64_Phdr);

    for (unsigned round = 0; round < FUZZ_ROUNDS; round++) {
        size_t len = im.len;
        int outcome;
        memcpy(work, im.b, len);
        unsigned n = 1 + (unsigned)(xorshift64(&rng) % 4);
        for (unsigned k = 0; k < n; k++)
            mutate(work, &len, &rng, hdr_len);
        if (!fuzz_one(work, len, ram, &outcome)) {
            fprintf(stdout, "# fuzz: round %u failed\n", round);
            CU_FAIL("fuzzed load misbehaved");
            break;
        }
        if (outcome == 0)
            loads++;
        else
            rejects++;
    }
    /* The mix should exercise both paths. */
    CU_ASSERT(loads > 0);
    CU_ASSERT(rejects > FUZZ_ROUNDS / 4);
    free(ram);
    free(work);
}

/* Every prefix of a valid image is rejected cleanly; only the full file loads. */
static void test_fuzz_truncations(void)
{
    struct img im;
    uint8_t *ram = ram_new(FUZZ_RAM);
    img_build(&im, FUZZ_BASE, 2);

    for (size_t len = 0; len <= im.len; len++) {
        int outcome;
        if (!fuzz_one(im.b, len, ram, &outcome) || (outcome == 0) != (len == im.len)) {
            fprintf(stdout, "# truncation to %zu bytes: ret %d\n", len, outcome);
            CU_FAIL("truncated image misbehaved");
            break;
        }
    }
    free(ram);
}

/* ---- registration ----------------------------------------------------- */

int register_elf_loader_tests(void)
{
    static const struct unit_test tests[] = {
        { "load one segment", test_load_one_segment },
        { "load two segments (bss zeroed)", test_load_two_segments },
        { "load unsorted segments", test_load_unsorted_segments },
        { "ignored program headers and empty PT_LOAD", test_ignored_phdrs },
        { "segment exactly at min_gpa and ram_size", test_load_exact_bounds },
        { "adjacent segments, NULL info", test_load_adjacent_segments },
        { "file shorter than ELF header", test_short_file },
        { "bad magic", test_bad_magic },
        { "32-bit class", test_class32 },
        { "big-endian", test_big_endian },
        { "bad version / OS ABI", test_bad_version_osabi },
        { "wrong machine", test_wrong_machine },
        { "ET_DYN (PIE) rejected", test_et_dyn },
        { "ET_REL/ET_CORE/other types rejected", test_other_types },
        { "bad e_ehsize / e_phentsize", test_bad_header_sizes },
        { "e_phoff beyond file", test_phoff_beyond_file },
        { "e_phoff overlaps ELF header", test_phoff_overlaps_ehdr },
        { "phoff + phnum*phentsize overflow", test_phtable_overflow },
        { "program header table beyond file", test_phtable_beyond_file },
        { "e_phnum 0 / PN_XNUM / too many", test_phnum_bad },
        { "e_phnum at the limit", test_phnum_max },
        { "p_filesz > p_memsz", test_filesz_gt_memsz },
        { "p_offset+p_filesz beyond file", test_offset_beyond_file },
        { "p_offset huge (overflow)", test_offset_overflow },
        { "p_vaddr != p_paddr", test_vaddr_ne_paddr },
        { "bad p_align", test_bad_align },
        { "p_paddr below min_gpa", test_paddr_below_min },
        { "p_paddr+p_memsz beyond ram_size", test_end_beyond_ram },
        { "p_paddr+p_memsz 64-bit overflow", test_end_overflow },
        { "huge p_memsz", test_huge_memsz },
        { "overlapping segments", test_overlapping_segments },
        { "no PT_LOAD", test_no_pt_load },
        { "entry outside any segment", test_entry_outside },
        { "entry in non-executable segment", test_entry_not_exec },
        { "entry in zero-filled part", test_entry_in_bss },
        { "PT_INTERP rejected", test_pt_interp },
        { "PT_DYNAMIC / PT_TLS / PT_SHLIB / unknown rejected", test_pt_dynamic_tls },
        { "bad arguments", test_bad_arguments },
        { "error buffer truncation", test_error_buffer },
        { "read_file nonexistent / directory", test_read_nonexistent },
        { "read_file larger than max_len", test_read_too_large },
        { "read_file empty", test_read_empty },
        { "read_file unsized (procfs)", test_read_unsized_file },
        { "read_file then load", test_read_and_load },
        { "fuzz: random mutations", test_fuzz_mutations },
        { "fuzz: every truncation", test_fuzz_truncations },
    };
    return ADD_SUITE("elf_loader", tests);
}
