/*
 * ELF64 x86-64 payload loader for arom-vmm.
 *
 * Payloads are static, non-PIE ELF64 executables (ET_EXEC, EM_X86_64,
 * little-endian) whose PT_LOAD segments are identity mapped in the guest
 * (p_vaddr == p_paddr == guest-physical address). The loader validates the
 * whole file first and only then copies the segments into guest RAM, so a
 * rejected file never leaves a partial image behind.
 */
#ifndef AROM_VMM_ELF_LOADER_H
#define AROM_VMM_ELF_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most program headers a payload may have (e_phnum 1..ELF_LOAD_MAX_PHNUM). */
#define ELF_LOAD_MAX_PHNUM 64

struct elf_image_info {
    uint64_t entry;        /* entry point GPA */
    uint64_t load_start;   /* lowest loaded GPA */
    uint64_t load_end;     /* one past the highest loaded byte (p_vaddr + p_memsz max) */
    unsigned segments;     /* PT_LOAD segments loaded (zero-sized ones are not counted) */
    uint64_t phdr;         /* GPA of the program headers when loaded (AT_PHDR), 0 if not loaded */
    unsigned phnum, phent; /* AT_PHNUM, AT_PHENT */
};

/* elf_load_flags: also accept PT_TLS (Linux programs: their C library sets it up). */
#define ELF_LOAD_TLS 1u
/* ... and ET_DYN files at a base, PT_INTERP and PT_DYNAMIC (ld.so links them). */
#define ELF_LOAD_DYNAMIC 2u

/*
 * Validate the ELF file in buf[0..len) and copy its PT_LOAD segments into
 * guest RAM ram[0..ram_size) at GPA p_paddr (zero-filling p_memsz beyond
 * p_filesz). Nothing is written to ram unless the whole file validates.
 *
 * Returns 0 on success (and fills *info if info is not NULL), or:
 *   -EINVAL   bad arguments (NULL buf/ram, ram_size not addressable)
 *   -ENOEXEC  malformed or unsupported file (wrong class/machine/type,
 *             PIE, dynamic linking, TLS, bad program headers, overlapping
 *             segments, bad entry point, ...)
 *   -ERANGE   a segment starts below min_gpa, or p_paddr + p_memsz
 *             overflows 64 bits
 *   -E2BIG    a segment ends beyond ram_size
 * On error *info is left untouched and one human-readable reason is written
 * to err[0..errlen) (NUL-terminated, truncated if needed; err may be NULL
 * when errlen is 0). Messages name segments by program header index, e.g.
 * "segment 2: p_offset+p_filesz (0x...) beyond end of file (0x...)".
 */
int elf_load(const void *buf, size_t len, void *ram, uint64_t ram_size, uint64_t min_gpa,
             struct elf_image_info *info, char *err, size_t errlen);
int elf_load_flags(const void *buf, size_t len, void *ram, uint64_t ram_size, uint64_t min_gpa, uint64_t base,
                   unsigned flags, struct elf_image_info *info, char *err, size_t errlen);
/* What a Linux loader must know first: the PT_INTERP path ("" if none), the
 * span of the PT_LOAD addresses (end of the highest), whether it is ET_DYN.
 * 0 or -ENOEXEC (not an ELF, or a bad PT_INTERP). */
int elf_interp(const void *buf, size_t len, char *path, size_t cap, uint64_t *span, bool *dyn);

/*
 * Read the whole file at path into a malloc'd buffer (caller frees *buf).
 * Returns 0, or a negative errno with a reason in err: -ENOENT etc. from
 * open/read, -EISDIR for a directory, -EFBIG when the file is larger than
 * max_len bytes, -ENOEXEC for an empty file, -ENOMEM. On error *buf is NULL
 * and *len is 0.
 */
int elf_read_file(const char *path, size_t max_len, void **buf, size_t *len, char *err,
                  size_t errlen);

#endif /* AROM_VMM_ELF_LOADER_H */
