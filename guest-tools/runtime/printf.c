/*
 * A small printf. One formatter writes into a sink; snprintf's sink
 * truncates, printf's sink is a stack buffer flushed with AROM_HC_PUTS
 * when full and at the end, so short messages cost exactly one VM exit
 * and reach the host as one piece.
 */
#include "arom.h"

#define PRINTF_BUF 1024

struct sink {
    char *buf;
    size_t cap;     /* usable bytes in buf */
    size_t pos;
    size_t total;   /* bytes the full output has, for the return value */
    bool flush;     /* true: emit via hypercall when full; false: truncate */
};

static void sink_flush(struct sink *o)
{
    if (o->flush && o->pos > 0)
        arom_puts(o->buf, o->pos);
    o->pos = 0;
}

static void put(struct sink *o, char c)
{
    o->total++;
    if (o->pos == o->cap) {
        if (!o->flush)
            return;
        sink_flush(o);
    }
    o->buf[o->pos++] = c;
}

static void put_n(struct sink *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    bool left;      /* '-' */
    bool zero;      /* '0' */
    bool alt;       /* '#': 0x for %x, leading 0 for %o */
    char sign;      /* '+', ' ' or 0 */
    int width;
    int prec;       /* -1: none */
};

/* Emit [prefix][digits] padded to the width. `digits` excludes the sign. */
static void put_field(struct sink *o, const struct spec *sp, const char *prefix,
                      const char *digits, int ndigits, int min_digits)
{
    int plen = (int)strlen(prefix);
    int zeros = min_digits > ndigits ? min_digits - ndigits : 0;
    int len = plen + zeros + ndigits;
    int pad = sp->width > len ? sp->width - len : 0;

    if (!sp->left && !sp->zero)
        put_n(o, ' ', pad);
    for (int i = 0; i < plen; i++)
        put(o, prefix[i]);
    if (!sp->left && sp->zero)
        put_n(o, '0', pad);
    put_n(o, '0', zeros);
    for (int i = 0; i < ndigits; i++)
        put(o, digits[i]);
    if (sp->left)
        put_n(o, ' ', pad);
}

/* Digits of v in base, most significant first; returns the count. */
static int utoa(uint64_t v, unsigned base, bool upper, char *out)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = dig[v % base];
        v /= base;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void put_int(struct sink *o, struct spec sp, uint64_t mag, bool neg,
                    unsigned base, bool upper, const char *prefix)
{
    char digits[24], pre[4];
    int n = 0, pi = 0;

    if (neg)
        pre[pi++] = '-';
    else if (sp.sign)
        pre[pi++] = sp.sign;
    for (; *prefix; prefix++)
        pre[pi++] = *prefix;
    pre[pi] = '\0';

    if (sp.prec == 0 && mag == 0)
        n = 0; /* C: "%.0d" of 0 prints nothing */
    else
        n = utoa(mag, base, upper, digits);
    if (sp.prec >= 0)
        sp.zero = false; /* precision overrides the '0' flag */
    put_field(o, &sp, pre, digits, n, sp.prec);
}

/* %f: fixed point with up to 17 fractional digits (what fits a u64). */
static void put_double(struct sink *o, struct spec sp, double v, bool upper)
{
    static const uint64_t pow10[] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
        10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
        100000000000ull, 1000000000000ull, 10000000000000ull,
        100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull,
    };
    char buf[400], pre[2] = { 0, 0 };
    int n = 0;
    int prec = sp.prec < 0 ? 6 : (sp.prec > 17 ? 17 : sp.prec);
    bool neg = __builtin_signbit(v) != 0;

    if (neg) {
        v = -v;
        pre[0] = '-';
    } else if (sp.sign) {
        pre[0] = sp.sign;
    }

    if (__builtin_isnan(v) || __builtin_isinf(v)) {
        const char *s = __builtin_isnan(v) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        sp.zero = false;
        put_field(o, &sp, pre, s, 3, 0);
        return;
    }

    /* Integer part: scale huge values into u64 range and pad with zeros
     * (digits beyond double precision are noise anyway). */
    int exp10 = 0;
    while (v >= 1e19) {
        v /= 10;
        exp10++;
    }
    uint64_t ipart = (uint64_t)v;
    double frac = v - (double)ipart;
    uint64_t fpart = 0;
    if (exp10 == 0 && frac > 0) {
        /* frac = m / 2^e exactly; scale by 10^prec in 128-bit integers so
         * rounding (to nearest, ties to even, as glibc) is exact. */
        uint64_t bits;
        __builtin_memcpy(&bits, &frac, sizeof(bits));
        unsigned biased = (unsigned)(bits >> 52) & 0x7ff;
        uint64_t m = bits & ((1ull << 52) - 1);
        unsigned e = biased ? 1075 - biased : 1074;
        if (biased)
            m |= 1ull << 52;
        if (e < 120) { /* else frac * 10^prec < 2^110 / 2^120: rounds to 0 */
            unsigned __int128 x = (unsigned __int128)m * pow10[prec];
            unsigned __int128 rest = x & (((unsigned __int128)1 << e) - 1);
            unsigned __int128 half = (unsigned __int128)1 << (e - 1);
            fpart = (uint64_t)(x >> e);
            uint64_t last = prec ? fpart : ipart;
            if (rest > half || (rest == half && (last & 1))) {
                if (prec)
                    fpart++;
                else
                    ipart++;
            }
        }
        if (fpart >= pow10[prec]) { /* rounding carried into the integer */
            fpart -= pow10[prec];
            ipart++;
        }
    }

    n = utoa(ipart, 10, false, buf);
    for (int i = 0; i < exp10; i++)
        buf[n++] = '0';
    if (prec > 0) {
        buf[n++] = '.';
        char fd[24];
        int fn = utoa(fpart, 10, false, fd);
        for (int i = fn; i < prec; i++)
            buf[n++] = '0'; /* leading zeros of the fraction */
        for (int i = 0; i < fn; i++)
            buf[n++] = fd[i];
    }
    put_field(o, &sp, pre, buf, n, 0);
}

static void format(struct sink *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(o, *fmt);
            continue;
        }
        const char *start = fmt++;
        struct spec sp = { .prec = -1 };

        for (;; fmt++) {
            if (*fmt == '-') sp.left = true;
            else if (*fmt == '0') sp.zero = true;
            else if (*fmt == '+') sp.sign = '+';
            else if (*fmt == '#') sp.alt = true;
            else if (*fmt == ' ') { if (!sp.sign) sp.sign = ' '; }
            else break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                sp.prec = va_arg(ap, int);
                if (sp.prec < 0)
                    sp.prec = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.prec = sp.prec * 10 + (*fmt++ - '0');
            }
        }
        if (sp.left)
            sp.zero = false;

        /* Length modifier: size in bytes of the integer argument. */
        int size = sizeof(int);
        switch (*fmt) {
        case 'h':
            size = 2;
            if (*++fmt == 'h') { size = 1; fmt++; }
            break;
        case 'l':
            size = sizeof(long);
            if (*++fmt == 'l') { size = sizeof(long long); fmt++; }
            break;
        case 'z': case 'j': case 't':
            size = 8;
            fmt++;
            break;
        }

        switch (*fmt) {
        case 'd': case 'i': {
            int64_t v = size == 8 ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (size == 2) v = (int16_t)v;
            if (size == 1) v = (int8_t)v;
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            put_int(o, sp, mag, v < 0, 10, false, "");
            break;
        }
        case 'u': case 'x': case 'X': case 'o': {
            uint64_t v = size == 8 ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            if (size == 2) v = (uint16_t)v;
            if (size == 1) v = (uint8_t)v;
            unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
            const char *prefix = "";
            if (sp.alt && v != 0 && base == 16)
                prefix = *fmt == 'X' ? "0X" : "0x";
            if (sp.alt && v != 0 && base == 8)
                prefix = "0";
            sp.sign = 0;
            put_int(o, sp, v, false, base, *fmt == 'X', prefix);
            break;
        }
        case 'p': {
            uintptr_t v = (uintptr_t)va_arg(ap, void *);
            sp.sign = 0;
            put_int(o, sp, v, false, 16, false, "0x");
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            sp.zero = false;
            put_field(o, &sp, "", &c, 1, 0);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            int n = 0;
            while (s[n] && (sp.prec < 0 || n < sp.prec))
                n++;
            sp.zero = false;
            put_field(o, &sp, "", s, n, 0);
            break;
        }
        case 'f': case 'F':
            put_double(o, sp, va_arg(ap, double), *fmt == 'F');
            break;
        case '%':
            put(o, '%');
            break;
        default:
            /* Unsupported: print the directive as written, so it shows. */
            for (; start <= fmt && *start; start++)
                put(o, *start);
            if (!*fmt)
                return;
            break;
        }
    }
}

int arom_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink o = { .buf = buf, .cap = size ? size - 1 : 0 };
    format(&o, fmt, ap);
    if (size)
        buf[o.pos] = '\0';
    return (int)o.total;
}

int arom_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = arom_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int arom_vprintf(const char *fmt, va_list ap)
{
    char buf[PRINTF_BUF];
    struct sink o = { .buf = buf, .cap = sizeof(buf), .flush = true };
    format(&o, fmt, ap);
    sink_flush(&o);
    return (int)o.total;
}

int arom_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = arom_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void arom_panic(const char *fmt, ...)
{
    char buf[PRINTF_BUF];
    va_list ap;
    int n = arom_snprintf(buf, sizeof(buf), "panic (vcpu %u): ", arom_vcpu_id());
    va_start(ap, fmt);
    arom_vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(buf);
    buf[len++] = '\n';
    arom_puts(buf, len);
    arom_exit(AROM_PANIC_STATUS);
}
