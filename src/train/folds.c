/* folds.c -- k-fold and leave-one-family-out splits (see folds.h). */
#include "train/folds.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

size_t family_key(const char *family, char *key, size_t keylen)
{
    size_t n = 0;
    int depth = 0;
    bool blank = false;
    if (!keylen)
        return 0;
    for (const char *p = family; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '(') {
            depth++;
            blank = true; /* "Foudre (x) backdoor": one blank stays */
            continue;
        }
        if (c == ')' && depth > 0) {
            depth--;
            continue;
        }
        if (depth > 0)
            continue;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            blank = true;
            continue;
        }
        if (blank && n > 0 && n + 1 < keylen)
            key[n++] = ' ';
        blank = false;
        if (n + 1 < keylen)
            key[n++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    key[n] = 0;
    return n;
}

void family_file_stem(const char *key, char *stem, size_t stemlen)
{
    size_t n = 0;
    bool dash = false;
    if (!stemlen)
        return;
    for (const char *p = key; *p; p++) {
        char c = *p;
        bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!keep) {
            dash = true;
            continue;
        }
        if (dash && n > 0 && n + 1 < stemlen)
            stem[n++] = '-';
        dash = false;
        if (n + 1 < stemlen)
            stem[n++] = c;
    }
    stem[n] = 0;
    if (!n)
        text_copy(stem, stemlen, "family", 6);
}

int benign_fold(const char *name, int n_folds)
{
    return n_folds > 0 ? (int)(fnv1a_str(FNV1A_SEED, name) % (uint32_t)n_folds)
                       : 0;
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const struct dataset *ds = ctx;
    return strcmp(ds->sources[*(const size_t *)a].name,
                  ds->sources[*(const size_t *)b].name);
}

void kfold_assign(const struct dataset *ds, int k, int *fold)
{
    size_t *order = malloc((ds->n_sources + 1) * sizeof(*order));
    size_t n = 0;
    for (size_t s = 0; s < ds->n_sources; s++) {
        fold[s] = -1;
        if (order && !ds->sources[s].test)
            order[n++] = s;
    }
    if (!order)
        return;
    qsort_r(order, n, sizeof(*order), cmp_name, (void *)ds);
    int next = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            bool mal = ds->sources[order[i]].rows[1] > 0;
            if (mal == (pass == 0))
                fold[order[i]] = k > 1 ? next++ % k : 0;
        }
    free(order);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(a, b);
}

int lofo_assign(const struct dataset *ds, int *fold,
                char (**keys_out)[FAMILY_KEY_MAX], char *err, size_t errlen)
{
    char (*keys)[FAMILY_KEY_MAX] = malloc((ds->n_sources + 1) * sizeof(*keys));
    size_t n = 0;
    *keys_out = NULL;
    if (!keys) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* the malicious captures' family keys, sorted and made unique */
    for (size_t s = 0; s < ds->n_sources; s++) {
        const struct source_info *si = &ds->sources[s];
        fold[s] = -1;
        if (si->test || si->label != LABEL_MALICIOUS)
            continue;
        if (!family_key(si->family, keys[n], sizeof(keys[n]))) {
            snprintf(err, errlen, "%s is malicious but has no family: "
                     "leave-one-family-out needs the labels CSV's family "
                     "column for every malicious capture", si->name);
            free(keys);
            return -1;
        }
        n++;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || strcmp(keys[u - 1], keys[i]) != 0)
            memmove(keys[u++], keys[i], sizeof(keys[i]));
    if (u < 2) {
        snprintf(err, errlen, "leave-one-family-out needs malicious captures "
                 "of at least two families (%zu found)", u);
        free(keys);
        return -1;
    }
    for (size_t s = 0; s < ds->n_sources; s++) {
        const struct source_info *si = &ds->sources[s];
        if (si->test)
            continue;
        if (si->label == LABEL_MALICIOUS) {
            char k[FAMILY_KEY_MAX];
            family_key(si->family, k, sizeof(k));
            char (*hit)[FAMILY_KEY_MAX] = bsearch(k, keys, u, sizeof(*keys), cmp_key);
            fold[s] = hit ? (int)(hit - keys) : -1;
        } else {
            fold[s] = benign_fold(si->name, (int)u);
        }
    }
    *keys_out = keys;
    return (int)u;
}
