/*
 * ELF64 x86-64 payload loader: validate everything, then copy.
 *
 * The file is untrusted input. Every header field is read through memcpy
 * (no alignment assumptions), every sum is overflow-checked, and all checks
 * run before the first byte of guest RAM is written.
 */
#include "vmm/elf_loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif

/* Initial read buffer for files whose size fstat cannot tell (pipes, procfs). */
#define READ_CHUNK ((size_t)64 * 1024)

/* One validated, non-empty PT_LOAD segment. */
struct seg {
    uint64_t offset;
    uint64_t gpa;      /* == p_paddr == p_vaddr */
    uint64_t filesz;
    uint64_t memsz;    /* > 0, gpa + memsz <= ram_size */
    uint32_t flags;
    unsigned index;    /* program header index, for messages */
};

/* Everything elf_load needs; lives on its stack (no global state). */
struct ctx {
    const uint8_t *file;
    size_t len;
    uint64_t ram_size;
    uint64_t min_gpa;
    unsigned flags;    /* ELF_LOAD_* */
    uint64_t base;     /* ELF_LOAD_DYNAMIC: where an ET_DYN file's address 0 goes */
    char *err;
    size_t errlen;
    Elf64_Ehdr eh;
    unsigned nseg;
    struct seg seg[ELF_LOAD_MAX_PHNUM];
};

__attribute__((format(printf, 4, 5)))
static int report(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

#define FAIL(c, code, ...) report((c)->err, (c)->errlen, (code), __VA_ARGS__)

/* ---- ELF header ------------------------------------------------------- */

static int check_ident(const struct ctx *c)
{
    const unsigned char *id = c->eh.e_ident;

    if (memcmp(id, ELFMAG, SELFMAG) != 0)
        return FAIL(c, -ENOEXEC, "not an ELF file (bad magic %02x %02x %02x %02x)",
                    id[0], id[1], id[2], id[3]);
    if (id[EI_CLASS] != ELFCLASS64)
        return FAIL(c, -ENOEXEC,
                    "ELF class %u is not ELFCLASS64 (only 64-bit payloads are supported)",
                    id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return FAIL(c, -ENOEXEC, "ELF data encoding %u is not ELFDATA2LSB (little-endian)",
                    id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return FAIL(c, -ENOEXEC, "ELF ident version %u is not EV_CURRENT", id[EI_VERSION]);
    if (id[EI_OSABI] != ELFOSABI_SYSV && id[EI_OSABI] != ELFOSABI_GNU)
        return FAIL(c, -ENOEXEC, "ELF OS ABI %u is not supported (expected System V or GNU/Linux)",
                    id[EI_OSABI]);
    return 0;
}

static int check_type_machine(const struct ctx *c)
{
    const Elf64_Ehdr *eh = &c->eh;

    bool pie = eh->e_type == ET_DYN && (c->flags & ELF_LOAD_DYNAMIC);     /* loaded at c->base */
    if (eh->e_type == ET_DYN && !pie)
        return FAIL(c, -ENOEXEC,
                    "ELF type ET_DYN (shared object or position-independent executable) is not "
                    "supported: link the payload -static -no-pie at or above 0x%" PRIx64,
                    c->min_gpa);
    if (eh->e_type != ET_EXEC && !pie)
        return FAIL(c, -ENOEXEC, "ELF type %u is not ET_EXEC (an executable)", eh->e_type);
    if (eh->e_machine != EM_X86_64)
        return FAIL(c, -ENOEXEC, "ELF machine %u is not EM_X86_64", eh->e_machine);
    if (eh->e_version != EV_CURRENT)
        return FAIL(c, -ENOEXEC, "ELF version %u is not EV_CURRENT", eh->e_version);
    if (eh->e_ehsize != sizeof(Elf64_Ehdr))
        return FAIL(c, -ENOEXEC, "e_ehsize %u is not %zu", eh->e_ehsize, sizeof(Elf64_Ehdr));
    return 0;
}

static int check_phdr_table(const struct ctx *c)
{
    const Elf64_Ehdr *eh = &c->eh;
    uint64_t size, end;

    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return FAIL(c, -ENOEXEC, "e_phentsize %u is not %zu", eh->e_phentsize, sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0)
        return FAIL(c, -ENOEXEC, "no program headers (e_phnum is 0)");
    if (eh->e_phnum == PN_XNUM)
        return FAIL(c, -ENOEXEC,
                    "e_phnum is PN_XNUM: extended program header numbering is not supported");
    if (eh->e_phnum > ELF_LOAD_MAX_PHNUM)
        return FAIL(c, -ENOEXEC, "e_phnum %u exceeds the limit of %d program headers",
                    eh->e_phnum, ELF_LOAD_MAX_PHNUM);
    if (eh->e_phoff < sizeof(Elf64_Ehdr))
        return FAIL(c, -ENOEXEC, "e_phoff (0x%" PRIx64 ") overlaps the ELF header", eh->e_phoff);
    if (__builtin_mul_overflow((uint64_t)eh->e_phnum, (uint64_t)eh->e_phentsize, &size))
        return FAIL(c, -ENOEXEC, "program header table size %u * %u overflows",
                    eh->e_phnum, eh->e_phentsize);
    if (__builtin_add_overflow(eh->e_phoff, size, &end))
        return FAIL(c, -ENOEXEC, "program header table: e_phoff (0x%" PRIx64 ") + 0x%" PRIx64
                    " overflows", eh->e_phoff, size);
    if (end > c->len)
        return FAIL(c, -ENOEXEC, "program header table [0x%" PRIx64 ", 0x%" PRIx64
                    ") beyond end of file (0x%zx)", eh->e_phoff, end, c->len);
    return 0;
}

static int check_ehdr(struct ctx *c)
{
    int ret;

    if (c->len < sizeof(Elf64_Ehdr))
        return FAIL(c, -ENOEXEC, "file is %zu bytes, shorter than an ELF64 header (%zu bytes)",
                    c->len, sizeof(Elf64_Ehdr));
    memcpy(&c->eh, c->file, sizeof c->eh);
    if ((ret = check_ident(c)) != 0)
        return ret;
    if ((ret = check_type_machine(c)) != 0)
        return ret;
    return check_phdr_table(c);
}

/* ---- program headers -------------------------------------------------- */

static void read_phdr(const struct ctx *c, unsigned i, Elf64_Phdr *ph)
{
    /* In bounds: check_phdr_table verified the whole table lies in the file. */
    memcpy(ph, c->file + c->eh.e_phoff + (uint64_t)i * sizeof *ph, sizeof *ph);
}

/* Classify a program header: 1 = PT_LOAD, 0 = ignored, <0 = rejected. */
static int classify_phdr(const struct ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    switch (ph->p_type) {
    case PT_LOAD:
        return 1;
    case PT_NULL:
    case PT_NOTE:
    case PT_PHDR:
    case PT_GNU_STACK:
    case PT_GNU_PROPERTY:
    case PT_GNU_EH_FRAME:
    case PT_GNU_RELRO:
        return 0;
    case PT_INTERP:
    case PT_DYNAMIC:
        if (c->flags & ELF_LOAD_DYNAMIC)
            return 0;           /* the program's interpreter (ld.so) relocates and links it */
        if (ph->p_type == PT_DYNAMIC)
            return FAIL(c, -ENOEXEC, "segment %u: PT_DYNAMIC present: dynamically linked payloads are "
                        "not supported (link with -static)", i);
        return FAIL(c, -ENOEXEC, "segment %u: PT_INTERP present: dynamically linked payloads are "
                    "not supported (link with -static)", i);
    case PT_TLS:
        if (c->flags & ELF_LOAD_TLS)
            return 0;           /* the C library sets it up from AT_PHDR */
        return FAIL(c, -ENOEXEC, "segment %u: PT_TLS present: thread-local storage is not "
                    "supported by arom-vmm", i);
    case PT_SHLIB:
        return FAIL(c, -ENOEXEC, "segment %u: PT_SHLIB (reserved) is not supported", i);
    default:
        /* Other OS- and processor-specific headers carry no load semantics. */
        if (ph->p_type >= PT_LOOS && ph->p_type <= PT_HIPROC)
            return 0;
        return FAIL(c, -ENOEXEC, "segment %u: unknown program header type 0x%x", i, ph->p_type);
    }
}

/* File-side checks of a PT_LOAD header (done even when p_memsz is 0). */
static int check_load_file(const struct ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    uint64_t end;

    if (ph->p_filesz > ph->p_memsz)
        return FAIL(c, -ENOEXEC, "segment %u: p_filesz (0x%" PRIx64 ") larger than p_memsz (0x%"
                    PRIx64 ")", i, ph->p_filesz, ph->p_memsz);
    if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end))
        return FAIL(c, -ENOEXEC, "segment %u: p_offset (0x%" PRIx64 ") + p_filesz (0x%" PRIx64
                    ") overflows", i, ph->p_offset, ph->p_filesz);
    if (end > c->len)
        return FAIL(c, -ENOEXEC, "segment %u: p_offset+p_filesz (0x%" PRIx64
                    ") beyond end of file (0x%zx)", i, end, c->len);
    if (ph->p_vaddr != ph->p_paddr)
        return FAIL(c, -ENOEXEC, "segment %u: p_vaddr (0x%" PRIx64 ") != p_paddr (0x%" PRIx64
                    "): the guest is identity mapped", i, ph->p_vaddr, ph->p_paddr);
    if (ph->p_align & (ph->p_align - 1))
        return FAIL(c, -ENOEXEC, "segment %u: p_align (0x%" PRIx64 ") is not a power of two",
                    i, ph->p_align);
    /* Power-of-two alignment: congruence mod p_align == equal low bits. */
    if (ph->p_align > 1 && ((ph->p_vaddr ^ ph->p_offset) & (ph->p_align - 1)))
        return FAIL(c, -ENOEXEC, "segment %u: p_vaddr (0x%" PRIx64 ") and p_offset (0x%" PRIx64
                    ") are not congruent modulo p_align (0x%" PRIx64 ")",
                    i, ph->p_vaddr, ph->p_offset, ph->p_align);
    return 0;
}

/* Guest-address checks of a non-empty PT_LOAD segment. */
static int check_load_addr(const struct ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    uint64_t end;

    uint64_t gpa;
    if (__builtin_add_overflow(ph->p_paddr, c->base, &gpa))
        return FAIL(c, -ERANGE, "segment %u: p_paddr (0x%" PRIx64 ") + the load base overflows", i, ph->p_paddr);
    if (gpa < c->min_gpa)
        return FAIL(c, -ERANGE, "segment %u: p_paddr (0x%" PRIx64 ") below the lowest loadable "
                    "address (0x%" PRIx64 ")", i, gpa, c->min_gpa);
    if (__builtin_add_overflow(gpa, ph->p_memsz, &end))
        return FAIL(c, -ERANGE, "segment %u: p_paddr (0x%" PRIx64 ") + p_memsz (0x%" PRIx64
                    ") overflows", i, ph->p_paddr, ph->p_memsz);
    if (end > c->ram_size)
        return FAIL(c, -E2BIG, "segment %u: p_paddr+p_memsz (0x%" PRIx64 ") beyond end of guest "
                    "RAM (0x%" PRIx64 ")", i, end, c->ram_size);
    return 0;
}

static int add_load(struct ctx *c, unsigned i, const Elf64_Phdr *ph)
{
    int ret;

    if ((ret = check_load_file(c, i, ph)) != 0)
        return ret;
    if (ph->p_memsz == 0)
        return 0; /* nothing to load */
    if ((ret = check_load_addr(c, i, ph)) != 0)
        return ret;
    c->seg[c->nseg++] = (struct seg){
        .offset = ph->p_offset, .gpa = c->base + ph->p_paddr, .filesz = ph->p_filesz,
        .memsz = ph->p_memsz, .flags = ph->p_flags, .index = i,
    };
    return 0;
}

/*
 * Two passes: first reject unsupported header types (so a dynamically linked
 * file is reported as such, whatever its PT_LOADs look like), then validate
 * and collect the PT_LOAD segments.
 */
static int check_phdrs(struct ctx *c)
{
    Elf64_Phdr ph;
    int ret;

    for (unsigned i = 0; i < c->eh.e_phnum; i++) {
        read_phdr(c, i, &ph);
        if ((ret = classify_phdr(c, i, &ph)) < 0)
            return ret;
    }
    for (unsigned i = 0; i < c->eh.e_phnum; i++) {
        read_phdr(c, i, &ph);
        if (classify_phdr(c, i, &ph) != 1)
            continue;
        if ((ret = add_load(c, i, &ph)) != 0)
            return ret;
    }
    if (c->nseg == 0)
        return FAIL(c, -ENOEXEC, "no loadable segments (no non-empty PT_LOAD)");
    return 0;
}

/* Ends cannot overflow: check_load_addr bounded them by ram_size. */
static int check_overlaps(const struct ctx *c)
{
    for (unsigned a = 0; a < c->nseg; a++) {
        const struct seg *x = &c->seg[a];
        for (unsigned b = a + 1; b < c->nseg; b++) {
            const struct seg *y = &c->seg[b];
            if (x->gpa < y->gpa + y->memsz && y->gpa < x->gpa + x->memsz)
                return FAIL(c, -ENOEXEC, "segments %u [0x%" PRIx64 ", 0x%" PRIx64 ") and %u [0x%"
                            PRIx64 ", 0x%" PRIx64 ") overlap", x->index, x->gpa,
                            x->gpa + x->memsz, y->index, y->gpa, y->gpa + y->memsz);
        }
    }
    return 0;
}

static const struct seg *find_seg(const struct ctx *c, uint64_t gpa)
{
    for (unsigned i = 0; i < c->nseg; i++)
        if (gpa >= c->seg[i].gpa && gpa - c->seg[i].gpa < c->seg[i].memsz)
            return &c->seg[i];
    return NULL;
}

static int check_entry(const struct ctx *c)
{
    uint64_t entry = c->base + c->eh.e_entry;
    const struct seg *s = find_seg(c, entry);

    if (!s)
        return FAIL(c, -ENOEXEC, "entry point 0x%" PRIx64 " is outside every loadable segment",
                    entry);
    if (!(s->flags & PF_X))
        return FAIL(c, -ENOEXEC, "entry point 0x%" PRIx64 " lies in segment %u, which is not "
                    "executable (no PF_X)", entry, s->index);
    if (entry - s->gpa >= s->filesz)
        return FAIL(c, -ENOEXEC, "entry point 0x%" PRIx64 " lies in the zero-filled part of "
                    "segment %u", entry, s->index);
    return 0;
}

/* ---- loading ---------------------------------------------------------- */

static void copy_segments(const struct ctx *c, uint8_t *ram)
{
    for (unsigned i = 0; i < c->nseg; i++) {
        const struct seg *s = &c->seg[i];
        uint8_t *dst = ram + s->gpa;
        memcpy(dst, c->file + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
}

static void fill_info(const struct ctx *c, struct elf_image_info *info)
{
    uint64_t lo = UINT64_MAX, hi = 0;

    for (unsigned i = 0; i < c->nseg; i++) {
        if (c->seg[i].gpa < lo)
            lo = c->seg[i].gpa;
        if (c->seg[i].gpa + c->seg[i].memsz > hi)
            hi = c->seg[i].gpa + c->seg[i].memsz;
    }
    *info = (struct elf_image_info){
        .entry = c->base + c->eh.e_entry, .load_start = lo, .load_end = hi, .segments = c->nseg,
        .phnum = c->eh.e_phnum, .phent = c->eh.e_phentsize,
    };
    /* Where the program headers are in memory (AT_PHDR): PT_PHDR, else the
     * segment that loads the file's start. */
    for (unsigned i = 0; i < c->eh.e_phnum; i++) {
        Elf64_Phdr ph;
        read_phdr(c, i, &ph);
        if (ph.p_type == PT_PHDR)
            info->phdr = c->base + ph.p_vaddr;
    }
    for (unsigned i = 0; !info->phdr && i < c->nseg; i++)
        if (c->seg[i].offset <= c->eh.e_phoff && c->eh.e_phoff < c->seg[i].offset + c->seg[i].filesz)
            info->phdr = c->seg[i].gpa + (c->eh.e_phoff - c->seg[i].offset);
}

static int check_args(const void *buf, const void *ram, uint64_t ram_size, char *err,
                      size_t errlen)
{
    if (!buf)
        return report(err, errlen, -EINVAL, "no ELF image (NULL buffer)");
    if (!ram)
        return report(err, errlen, -EINVAL, "no guest RAM (NULL pointer)");
#if SIZE_MAX < UINT64_MAX
    if (ram_size > SIZE_MAX)
        return report(err, errlen, -EINVAL, "guest RAM size 0x%" PRIx64 " not addressable",
                      ram_size);
#else
    (void)ram_size;
#endif
    return 0;
}

int elf_load(const void *buf, size_t len, void *ram, uint64_t ram_size, uint64_t min_gpa,
             struct elf_image_info *info, char *err, size_t errlen)
{
    return elf_load_flags(buf, len, ram, ram_size, min_gpa, 0, 0, info, err, errlen);
}

int elf_load_flags(const void *buf, size_t len, void *ram, uint64_t ram_size, uint64_t min_gpa, uint64_t base,
                   unsigned flags, struct elf_image_info *info, char *err, size_t errlen)
{
    int ret = check_args(buf, ram, ram_size, err, errlen);
    if (ret)
        return ret;

    /* ~3 KiB: fine on the VMM's main thread stack. */
    struct ctx c = {
        .file = buf, .len = len, .ram_size = ram_size, .min_gpa = min_gpa, .flags = flags, .base = base,
        .err = err, .errlen = errlen,
    };
    if ((ret = check_ehdr(&c)) != 0 || (ret = check_phdrs(&c)) != 0 ||
        (ret = check_overlaps(&c)) != 0 || (ret = check_entry(&c)) != 0)
        return ret;

    copy_segments(&c, ram);
    if (info)
        fill_info(&c, info);
    if (err && errlen > 0)
        err[0] = '\0';
    return 0;
}

/* ---- reading files ---------------------------------------------------- */

static int errno_report(char *err, size_t errlen, int e, const char *what, const char *path)
{
    char tmp[128];
    /* GNU strerror_r (we build with _GNU_SOURCE) returns the message pointer. */
    const char *msg = strerror_r(e, tmp, sizeof tmp);
    return report(err, errlen, -e, "%s %s: %s", what, path, msg);
}

/* Grow *p to hold at least one more byte than *cap, but not past limit. */
static int grow(uint8_t **p, size_t *cap, size_t limit)
{
    size_t ncap;
    if (__builtin_mul_overflow(*cap, (size_t)2, &ncap) || ncap > limit)
        ncap = limit;
    uint8_t *np = realloc(*p, ncap);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

/*
 * Read fd to EOF into a buffer of at most limit bytes; *used > limit - 1
 * (i.e. the buffer filled up) means the file is larger than the caller's
 * max_len. initial is the first buffer size (1..limit).
 */
static int read_all(int fd, size_t initial, size_t limit, uint8_t **out, size_t *used)
{
    size_t cap = initial, n = 0;
    uint8_t *p = malloc(cap);
    int ret = 0;

    if (!p)
        return -ENOMEM;
    for (;;) {
        if (n == cap) {
            if (cap == limit)
                break; /* full: caller reports too large */
            if ((ret = grow(&p, &cap, limit)) != 0)
                break;
        }
        ssize_t r = read(fd, p + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ret = -errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (ret) {
        free(p);
        return ret;
    }
    *out = p;
    *used = n;
    return 0;
}

static int read_fd(int fd, const char *path, size_t max_len, void **buf, size_t *len,
                   char *err, size_t errlen)
{
    struct stat st;
    size_t limit, initial, n;
    uint8_t *p;
    int ret;

    if (fstat(fd, &st) < 0)
        return errno_report(err, errlen, errno, "cannot stat", path);
    if (S_ISDIR(st.st_mode))
        return report(err, errlen, -EISDIR, "%s is a directory, not an ELF file", path);
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_len)
        return report(err, errlen, -EFBIG, "%s is %lld bytes, larger than the limit of %zu bytes",
                      path, (long long)st.st_size, max_len);
    /* One byte of headroom detects a file that is (or grew) larger than max_len. */
    if (__builtin_add_overflow(max_len, (size_t)1, &limit))
        limit = SIZE_MAX;
    initial = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : READ_CHUNK;
    if (initial > limit)
        initial = limit;

    ret = read_all(fd, initial, limit, &p, &n);
    if (ret == -ENOMEM)
        return report(err, errlen, ret, "out of memory reading %s", path);
    if (ret)
        return errno_report(err, errlen, -ret, "cannot read", path);
    if (n > max_len) {
        free(p);
        return report(err, errlen, -EFBIG, "%s is larger than the limit of %zu bytes", path,
                      max_len);
    }
    if (n == 0) {
        free(p);
        return report(err, errlen, -ENOEXEC, "%s is empty", path);
    }
    *buf = p;
    *len = n;
    return 0;
}

int elf_read_file(const char *path, size_t max_len, void **buf, size_t *len, char *err,
                  size_t errlen)
{
    if (!buf || !len)
        return report(err, errlen, -EINVAL, "elf_read_file: NULL output pointer");
    *buf = NULL;
    *len = 0;
    if (!path)
        return report(err, errlen, -EINVAL, "elf_read_file: NULL path");

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_report(err, errlen, errno, "cannot open", path);
    int ret = read_fd(fd, path, max_len, buf, len, err, errlen);
    close(fd);
    return ret;
}

int elf_interp(const void *buf, size_t len, char *path, size_t cap, uint64_t *span, bool *dyn)
{
    const Elf64_Ehdr *eh = buf;
    *span = 0;
    path[0] = '\0';
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(Elf64_Phdr) ||
        eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        return -ENOEXEC;
    *dyn = eh->e_type == ET_DYN;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, (const uint8_t *)buf + eh->e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_memsz && ph.p_vaddr + ph.p_memsz > *span && ph.p_vaddr + ph.p_memsz > ph.p_vaddr)
            *span = ph.p_vaddr + ph.p_memsz;
        if (ph.p_type == PT_INTERP) {
            if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset || !ph.p_filesz || ph.p_filesz > cap)
                return -ENOEXEC;
            memcpy(path, (const uint8_t *)buf + ph.p_offset, ph.p_filesz);
            path[ph.p_filesz - 1] = '\0';
        }
    }
    return 0;
}
