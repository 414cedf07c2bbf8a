/*
 * The libc subset payloads (and GCC's own struct copies) need, plus
 * argument parsing. memcpy/memset/memmove use `rep movsb/stosb`: fast on
 * ERMS CPUs, and a compiler cannot turn them back into calls to themselves.
 */
#define AROM_STRING_IMPL
#include "arom.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    /* Overlapping with dst above src: copy backwards. */
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n > 0; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

int arom_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0, base = 10;
    int digits = 0;

    if (!s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (;; s++, digits++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
            return -1;
    }
    if (digits == 0)
        return -1;

    unsigned shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    case 't': case 'T': shift = 40; s++; break;
    }
    if (*s != '\0')
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

const char *arom_arg_str(int argc, char **argv, const char *name, const char *def)
{
    size_t len = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=')
            return argv[i] + len + 1;
    return def;
}

uint64_t arom_arg_u64(int argc, char **argv, const char *name, uint64_t def)
{
    const char *s = arom_arg_str(argc, argv, name, NULL);
    uint64_t v;
    if (!s)
        return def;
    if (arom_parse_u64(s, &v) != 0)
        arom_panic("bad number in argument %s=%s", name, s);
    return v;
}

/* Split a writable copy of the argument string into argv in place: argv[0]
 * is "payload", words are separated by blanks (no quoting), argv[argc] is
 * NULL. Shared by the guest runtime and the native one. */
int arom__split_cmdline(char *line, char **argv)
{
    int argc = 0;
    argv[argc++] = (char *)"payload";
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            *p++ = '\0';
        if (!*p)
            break;
        if (argc == AROM_MAX_ARGS)
            arom_panic("too many arguments (at most %d)", AROM_MAX_ARGS - 1);
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
    }
    argv[argc] = NULL;
    return argc;
}
