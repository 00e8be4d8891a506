/* x509.c -- what reading a new certificate costs. Not a test.
 *
 * Reads DER certificates (one hex line each, as bench/x509.sh extracts
 * them from the corpus capture with tshark), checks that the sensor's DER
 * reader (proto/x509.c) and the OpenSSL path it replaced
 * (tests/unit/x509_ref.h: d2i_X509 and OpenSSL's printers) give the same
 * fields for every one, then parses all of them again and again with each,
 * no cache, for at least half a second, and prints the time per
 * certificate and the ratio, measured in the same run.
 *     x509 CERTS.hex
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/x509.h"
#include "x509_ref.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct cert {
    uint8_t *der;
    size_t len;
};

static size_t read_certs(FILE *f, struct cert **out)
{
    size_t n = 0, cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t l;
    while ((l = getline(&line, &lcap, f)) > 0) {
        size_t hex = (size_t)l;
        while (hex && (line[hex - 1] == '\n' || line[hex - 1] == '\r'))
            hex--;
        if (hex < 2 || hex % 2)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            *out = realloc(*out, cap * sizeof(**out));
        }
        struct cert *c = &(*out)[n++];
        c->len = hex / 2;
        c->der = malloc(c->len);
        for (size_t i = 0; i < c->len; i++) {
            unsigned v;
            sscanf(line + 2 * i, "%2x", &v);
            c->der[i] = (uint8_t)v;
        }
    }
    free(line);
    return n;
}

/* field by field: the SAN buffers hold stack bytes after their NUL */
static bool same(const struct x509_info *a, const struct x509_info *b)
{
    bool ok = !strcmp(a->subject, b->subject) && !strcmp(a->issuer, b->issuer) &&
              !strcmp(a->serial, b->serial) && !strcmp(a->key_type, b->key_type) &&
              a->not_before == b->not_before && a->not_after == b->not_after &&
              a->self_signed == b->self_signed && a->key_bits == b->key_bits &&
              a->n_sans == b->n_sans && a->total_sans == b->total_sans &&
              !memcmp(a->sha1, b->sha1, 20) && !memcmp(a->sha256, b->sha256, 32);
    for (int i = 0; ok && i < a->n_sans; i++)
        ok = !strcmp(a->sans[i], b->sans[i]);
    return ok;
}

typedef bool (*parse_fn)(const uint8_t *, size_t, struct x509_info *);

static bool parse_new(const uint8_t *der, size_t len, struct x509_info *out)
{
    return x509_parse(NULL, der, len, out);
}

/* seconds per certificate, over at least half a second of rounds */
static double per_cert(parse_fn fn, const struct cert *c, size_t n)
{
    struct x509_info info;
    size_t rounds = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < n; i++)
            fn(c[i].der, c[i].len, &info);
        rounds++;
    } while ((t = now() - t0) < 0.5);
    return t / (double)(rounds * n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: x509 CERTS.hex\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    struct cert *c = NULL;
    size_t n = read_certs(f, &c);
    fclose(f);
    if (!n) {
        fprintf(stderr, "x509: no certificates in %s\n", argv[1]);
        return 1;
    }
    size_t parsed = 0, differ = 0;
    for (size_t i = 0; i < n; i++) {
        struct x509_info a, b;
        bool ok_a = parse_new(c[i].der, c[i].len, &a);
        bool ok_b = x509_parse_openssl(c[i].der, c[i].len, &b);
        parsed += ok_a;
        if (ok_a != ok_b || !same(&a, &b)) {
            differ++;
            fprintf(stderr, "x509: certificate %zu: fields differ (subject \"%s\" / \"%s\")\n",
                    i, a.subject, b.subject);
        }
    }
    double t_new = per_cert(parse_new, c, n);
    double t_old = per_cert(x509_parse_openssl, c, n);
    printf("%zu certificates (%zu parsed), %zu with different fields\n", n, parsed, differ);
    printf("  DER reader (proto/x509.c)     %7.2f us a certificate\n", t_new * 1e6);
    printf("  OpenSSL d2i_X509 + printers   %7.2f us a certificate\n", t_old * 1e6);
    printf("  new/old time: %.3f (both include SHA-1 and SHA-256 of the DER)\n", t_new / t_old);
    for (size_t i = 0; i < n; i++)
        free(c[i].der);
    free(c);
    return differ ? 1 : 0;
}
