/* test_eta.c -- encrypted-traffic analysis: feature extraction on hand-made
 * flows, the periodicity statistics, the model file round trip (the C tree
 * walker against XGBoost's own predictions and contributions), refusal of
 * a model made for other features, the training metrics, labels, the
 * family keys and folds of leave-one-family-out, and the ROC picture. */
#include <math.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "testing.h"

#include "eta/eta_features.h"
#include "eta/eta_history.h"
#include "eta/eta_model.h"
#include "fingerprint/summary.h"
#include "train/booster.h"
#include "train/dataset.h"
#include "train/folds.h"
#include "train/metrics.h"
#include "train/model_file.h"
#include "train/roc_png.h"
#include "util/text.h"

#define NEAR(a, b, eps) (fabs((double)(a) - (double)(b)) <= (eps))

static struct flow *flow_new(void)
{
    struct flow *f = calloc(1, sizeof(struct flow) + 32 * sizeof(struct splt_entry));
    f->key.ip_version = 4;
    f->key.proto = 6;
    uint8_t *lo = f->key.lo.b, *hi = f->key.hi.b;
    lo[0] = 10; lo[3] = 1;                     /* client 10.0.0.1 */
    hi[0] = 198; hi[1] = 51; hi[2] = 100; hi[3] = 7;
    f->key.lo_port = 50000;
    f->key.hi_port = 443;
    f->client_is_lo = 1;
    return f;
}

/* client 100 bytes, server 200 bytes 10 ms later, client 50 bytes 5 ms
 * after that; IP lengths add 40. */
static void three_packets(struct flow *f)
{
    static const struct { uint16_t len; uint8_t dir; uint32_t iat; } p[] = {
        { 100, 0, 0 }, { 200, 1, 10000 }, { 50, 0, 5000 },
    };
    f->first_usec = 1700000000000000ull;
    f->last_usec = f->first_usec + 15000;
    for (int i = 0; i < 3; i++) {
        f->splt[i].len = p[i].len;
        f->splt[i].dir = p[i].dir;
        f->splt[i].iat_usec = p[i].iat;
        struct flow_dir *d = &f->dir[p[i].dir];
        d->pkts++;
        d->payload_pkts++;
        d->payload_bytes += p[i].len;
        d->size_sum += p[i].len + 40;
        d->size_sumsq += (double)(p[i].len + 40) * (p[i].len + 40);
        if (p[i].len + 40u > d->size_max)
            d->size_max = p[i].len + 40u;
        f->round[i] = (struct flow_round){ p[i].dir, 1, p[i].len };
    }
    f->dir[0].iat_sum = 15000;
    f->dir[0].iat_sumsq = 15000.0 * 15000;
    f->dir[0].iat_max = 15000;
    f->splt_n = 3;
    f->rounds = 3;
}

static void test_shape_features_of_known_splt(void)
{
    struct flow *f = flow_new();
    three_packets(f);
    float x[ETA_NFEATURES];
    eta_features_extract(f, NULL, x);
    CHECK(NEAR(x[ETA_F_duration], 0.015, 1e-6));
    CHECK_EQ(x[ETA_F_pkts_out], 2);
    CHECK_EQ(x[ETA_F_bytes_out], 150);
    CHECK_EQ(x[ETA_F_bytes_in], 200);
    CHECK(NEAR(x[ETA_F_bytes_out_share], 150.0 / 350, 1e-6));
    CHECK(NEAR(x[ETA_F_size_mean_out], 115, 1e-4));
    CHECK(NEAR(x[ETA_F_size_std_out], 25, 1e-3));
    CHECK_EQ(x[ETA_F_size_max_in], 240);
    CHECK(NEAR(x[ETA_F_size_std_in], 0, 1e-6));
    CHECK(NEAR(x[ETA_F_iat_mean_out], 15, 1e-4));
    CHECK(isnan(x[ETA_F_iat_mean_in]));     /* one packet: no gap */
    CHECK_EQ(x[ETA_F_splt_len_1], 100);
    CHECK(isnan(x[ETA_F_splt_iat_1]));
    CHECK_EQ(x[ETA_F_splt_len_2], -200);
    CHECK(NEAR(x[ETA_F_splt_iat_2], 10, 1e-6));
    CHECK_EQ(x[ETA_F_splt_len_3], 50);
    CHECK(NEAR(x[ETA_F_splt_iat_3], 5, 1e-6));
    CHECK(isnan(x[ETA_F_splt_len_4]));
    /* a 32 KiB loopback or offloaded segment counts as a full-size packet */
    f->splt[1].len = 32768;
    f->dir[1].size_max = 32808;
    eta_features_extract(f, NULL, x);
    CHECK_EQ(x[ETA_F_splt_len_2], -1500);
    CHECK_EQ(x[ETA_F_size_max_in], 1500);
    f->splt[1].len = 200;
    f->dir[1].size_max = 240;
    eta_features_extract(f, NULL, x);
    CHECK_EQ(x[ETA_F_rounds], 3);
    CHECK_EQ(x[ETA_F_round_pkts_1], 1);
    CHECK_EQ(x[ETA_F_round_bytes_2], -200);
    CHECK(isnan(x[ETA_F_round_pkts_4]));
    CHECK_EQ(x[ETA_F_transport], 6);
    CHECK_EQ(x[ETA_F_server_port_class], 0);
    CHECK_EQ(x[ETA_F_tls], 0);
    CHECK(isnan(x[ETA_F_tls_version]));
    CHECK(isnan(x[ETA_F_sni_len]));
    CHECK(isnan(x[ETA_F_pair_conns]));
    CHECK_EQ(x[ETA_F_dns_known], 0);
    CHECK(isnan(x[ETA_F_dns_ttl]));
    free(f);
}

static void test_handshake_and_context_features(void)
{
    struct flow *f = flow_new();
    three_packets(f);
    struct tls_summary t;
    memset(&t, 0, sizeof(t));
    strcpy(t.sni, "a1b2c3.example.com");
    t.version = 0x0304;
    t.complete = true;
    t.self_signed = true;
    t.facts = (struct tls_facts){
        .has_ch = true, .has_sh = true, .has_cert = true,
        .client_max_version = 0x0304, .n_ciphers = 17, .n_exts = 12,
        .ext_flags = TLS_EXT_FLAG_ALPN | TLS_EXT_FLAG_GREASE,
        .cipher_aead = 1, .cipher_fs = 1, .sni_cert_match = 0,
        .cert_not_before = 1700000000 - 10 * 86400,
        .cert_not_after = 1700000000 + 80 * 86400, .cert_sans = 2,
        .chain_len = 1, .cert_key_bits = 2048,
    };
    struct eta_pair_stats ps = { 4, 60, 0.01, 0.99, 0 };
    struct eta_context ctx = { .tls = &t, .pair = &ps, .dns_known = 1,
                               .dns_ttl = 300, .dns_addrs = 2 };
    float x[ETA_NFEATURES];
    eta_features_extract(f, &ctx, x);
    CHECK_EQ(x[ETA_F_tls], 1);
    CHECK_EQ(x[ETA_F_tls_version], 4);
    CHECK_EQ(x[ETA_F_tls_ciphers], 17);
    CHECK_EQ(x[ETA_F_tls_ext_grease], 1);
    CHECK_EQ(x[ETA_F_tls_ext_key_share], 0);
    CHECK_EQ(x[ETA_F_cert_self_signed], 1);
    CHECK(NEAR(x[ETA_F_cert_validity_days], 90, 1e-4));
    CHECK(NEAR(x[ETA_F_cert_age_days], 10, 1e-4));
    CHECK(NEAR(x[ETA_F_cert_days_left], 80, 1e-4));
    CHECK_EQ(x[ETA_F_sni_len], 18);
    CHECK(NEAR(x[ETA_F_sni_digit_share], 3.0 / 18, 1e-6));
    CHECK_EQ(x[ETA_F_sni_labels], 3);
    CHECK_EQ(x[ETA_F_sni_is_address], 0);
    CHECK_EQ(x[ETA_F_sni_cert_match], 0);
    CHECK_EQ(x[ETA_F_pair_conns], 4);
    CHECK(NEAR(x[ETA_F_pair_regularity], 0.99, 1e-6));
    CHECK_EQ(x[ETA_F_dns_ttl], 300);
    CHECK_EQ(x[ETA_F_dns_addrs], 2);
    CHECK(NEAR(eta_text_entropy("aab"), 0.9182958, 1e-6));
    CHECK(NEAR(eta_text_entropy(""), 0, 1e-9));
    strcpy(t.sni, "192.0.2.1");
    eta_features_extract(f, &ctx, x);
    CHECK_EQ(x[ETA_F_sni_is_address], 1);
    free(f);
}

static void test_every_feature_is_named_once(void)
{
    for (int i = 0; i < ETA_NFEATURES; i++) {
        CHECK(eta_feature_names[i] && *eta_feature_names[i]);
        CHECK(eta_feature_docs[i] && *eta_feature_docs[i]);
        for (int k = 0; k < i; k++)
            CHECK(strcmp(eta_feature_names[i], eta_feature_names[k]) != 0);
    }
}

/* A tiny deterministic generator for the statistics tests. */
static uint32_t lcg = 12345;
static double uniform(void)
{
    lcg = lcg * 1103515245u + 12345u;
    return ((lcg >> 8) & 0xffffff) / (double)0x1000000;
}

static void test_regular_beacon_vs_human_browsing(void)
{
    uint64_t t[16];
    uint32_t b[16];
    struct eta_pair_stats s;
    /* every 60 s with up to 2 s of jitter, the same request size */
    for (int i = 0; i < 16; i++) {
        t[i] = (uint64_t)(1e6 * (1000 + 60.0 * i + 2 * (uniform() - 0.5)));
        b[i] = 320;
    }
    eta_pair_compute(t, b, 16, &s);
    CHECK_EQ(s.conns, 16);
    CHECK(NEAR(s.interval_mean, 60, 0.5));
    CHECK(s.interval_cv < 0.05);
    CHECK(s.regularity > 0.95);
    CHECK(NEAR(s.bytes_cv, 0, 1e-9));
    /* a beacon that missed two check-ins still peaks */
    uint64_t m[14];
    for (int i = 0, k = 0; i < 16; i++)
        if (i != 5 && i != 9)
            m[k++] = t[i];
    eta_pair_compute(m, b, 14, &s);
    CHECK(s.regularity > 0.9);
    /* a person: intervals from seconds to many minutes, varied sizes */
    double at = 1000;
    for (int i = 0; i < 16; i++) {
        at += -log(1 - uniform()) * 120;
        t[i] = (uint64_t)(at * 1e6);
        b[i] = 200 + (uint32_t)(uniform() * 5000);
    }
    eta_pair_compute(t, b, 16, &s);
    CHECK(s.interval_cv > 0.5);
    CHECK(s.regularity < 0.7);
    CHECK(s.bytes_cv > 0.3);
    /* a browser: bursts of six parallel connections at irregular moments
     * are events, not a period of a few milliseconds */
    uint64_t burst[16];
    uint32_t bb[16];
    const double visits[] = { 0, 7.3, 61, 64.5 };
    for (int i = 0; i < 16; i++) {
        burst[i] = (uint64_t)(1e6 * (5000 + visits[i / 4 % 4] + 0.002 * (i % 4)));
        bb[i] = 500;
    }
    eta_pair_compute(burst, bb, 16, &s);
    CHECK_EQ(s.conns, 16);
    CHECK(s.interval_mean > 5);       /* between visits, not within bursts */
    CHECK(s.regularity < 0.9);
    /* two connections: an interval, no regularity yet */
    eta_pair_compute(t, b, 2, &s);
    CHECK(isfinite(s.interval_mean));
    CHECK(isnan(s.regularity));
    eta_pair_compute(t, b, 1, &s);
    CHECK(isnan(s.interval_mean));
}

static void test_history_keeps_pairs_and_counts_evictions(void)
{
    struct eta_history *h = eta_history_new(4); /* one set of four */
    struct flow *f = flow_new();
    struct eta_pair_stats s;
    for (int i = 0; i < 20; i++) {
        f->first_usec = 1000000ull * (100 + 30 * (uint64_t)i);
        eta_history_add(h, f, &s, 0);
    }
    CHECK_EQ(s.conns, 20);
    CHECK(NEAR(s.interval_mean, 30, 1e-6));
    CHECK(s.regularity > 0.99);
    /* four pairs that connect once take no entry: the first pair stays */
    for (int port = 1; port <= 4; port++) {
        f->key.hi_port = (uint16_t)(8000 + port);
        eta_history_add(h, f, &s, 0);
        CHECK_EQ(s.conns, 1);
    }
    CHECK_EQ(eta_history_stats(h)->evicted, 0);
    CHECK_EQ(eta_history_stats(h)->pairs_new, 5);
    CHECK_EQ(eta_history_stats(h)->pairs_kept, 1);
    /* their second connections do, with both starts: four entries for
     * five pairs, the least recently used -- the first pair -- goes */
    for (int port = 1; port <= 4; port++) {
        f->key.hi_port = (uint16_t)(8000 + port);
        f->first_usec += 45000000;
        eta_history_add(h, f, &s, 0);
        CHECK_EQ(s.conns, 2);
        CHECK(NEAR(s.interval_mean, 45 * port, 1e-6)); /* the firsts were together */
    }
    CHECK_EQ(eta_history_stats(h)->pairs_kept, 5);
    CHECK_EQ(eta_history_stats(h)->evicted, 1);
    CHECK_EQ(eta_history_stats(h)->firsts_forgotten, 0);
    CHECK(eta_history_memory(h) > 4 * sizeof(uint64_t) * ETA_HISTORY_CONNS);
    eta_history_free(h);
    free(f);
}

/* A beacon every 10 minutes among 200,000 pairs that each connect once: it
 * keeps its history (with an entry per new pair, a 16,384-pair table lost
 * it within minutes); the first connections the one-off pairs push out of
 * their slots are counted. */
static void test_one_off_pairs_do_not_push_out_a_beacon(void)
{
    struct eta_history *h = eta_history_new(16384);
    struct flow *f = flow_new();
    struct eta_pair_stats s;
    memset(&s, 0, sizeof(s));
    uint64_t t = 1000000ull * 1700000000;
    for (int i = 0; i < 200000; i++) {
        if (i % 20000 == 0) {   /* 10 beacons, 600 s apart */
            f->key.lo.b[0] = 10, f->key.lo.b[3] = 5;
            memset(&f->key.hi, 0, sizeof(f->key.hi));
            f->key.hi.b[0] = 203, f->key.hi.b[3] = 9;
            f->key.hi_port = 443;
            f->first_usec = t;
            eta_history_add(h, f, &s, 0);
        }
        f->key.hi.b[0] = 100;
        f->key.hi.b[1] = (uint8_t)(i >> 16), f->key.hi.b[2] = (uint8_t)(i >> 8);
        f->key.hi.b[3] = (uint8_t)i;
        f->first_usec = t += 30000;   /* 33 new pairs a second */
        eta_history_add(h, f, NULL, 0);
    }
    CHECK_EQ(s.conns, 10);
    CHECK(NEAR(s.interval_mean, 600, 1));
    CHECK(s.regularity > 0.99);
    CHECK_EQ(eta_history_stats(h)->evicted, 0);
    CHECK(eta_history_stats(h)->firsts_forgotten > 100000);
    eta_history_free(h);
    free(f);
}

/* ---- models ----------------------------------------------------------- */

#define NROWS 600

static struct row rows[NROWS];
static size_t idx[NROWS];

/* malicious: short, regular, small; benign: the rest; some NaNs */
static void synthetic_rows(void)
{
    for (int i = 0; i < NROWS; i++) {
        struct row *r = &rows[i];
        bool mal = i % 4 == 0;
        for (int k = 0; k < ETA_NFEATURES; k++)
            r->x[k] = (float)(uniform() * 100);
        r->x[ETA_F_pair_regularity] = (float)(mal ? 0.8 + 0.2 * uniform()
                                                  : uniform() * 0.9);
        r->x[ETA_F_bytes_out] = (float)(mal ? 200 + uniform() * 100
                                            : 100 + uniform() * 5000);
        if (i % 7 == 0)
            r->x[ETA_F_pair_regularity] = NAN;
        if (i % 11 == 0)
            r->x[ETA_F_sni_len] = NAN;
        r->label = mal;
        idx[i] = (size_t)i;
    }
}

static char *trained_model_text(void)
{
    synthetic_rows();
    struct booster_params p = { .rounds = 20, .max_depth = 3,
                                .learning_rate = 0.3, .min_child_weight = 1 };
    char err[512] = "";
    char *booster = booster_train(rows, idx, NROWS, &p, err, sizeof(err));
    CHECK(booster != NULL);
    if (!booster) {
        fprintf(stderr, "  %s\n", err);
        return NULL;
    }
    json_t *rec = json_pack("{s:s}", "note", "unit test");
    char *text = model_file_build(booster, "unit-1", 0.7, 3, rec);
    json_decref(rec);
    free(booster);
    return text;
}

static void test_tree_walker_matches_xgboost(void)
{
    char *text = trained_model_text();
    REQUIRE(text != NULL);
    char err[512] = "";
    struct eta_model *m = eta_model_load_buffer(text, strlen(text), "unit", err,
                                                sizeof(err));
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err);
        free(text);
        return;
    }
    CHECK_STR(eta_model_version(m), "unit-1");
    CHECK(NEAR(eta_model_threshold(m), 0.7, 1e-12));
    CHECK_EQ(eta_model_min_packets(m), 3);
    CHECK_EQ(eta_model_trees(m), 20);
    /* XGBoost reads the booster part of the same file */
    json_t *root = json_loads(text, 0, NULL);
    json_t *trees = json_object_get(json_object_get(json_object_get(
        json_object_get(json_object_get(root, "booster"), "learner"),
        "gradient_booster"), "model"), "trees");
    char *booster = json_dumps(json_object_get(root, "booster"), JSON_COMPACT);
    /* the last rows sit exactly on split thresholds: ties go right */
    for (int i = NROWS - 100; i < NROWS; i++) {
        json_t *t = json_array_get(trees, (size_t)i % json_array_size(trees));
        json_t *feat = json_object_get(t, "split_indices");
        json_t *cond = json_object_get(t, "split_conditions");
        json_t *left = json_object_get(t, "left_children");
        for (size_t k = 0; k < json_array_size(feat); k++)
            if (json_integer_value(json_array_get(left, k)) >= 0)
                rows[i].x[json_integer_value(json_array_get(feat, k))] =
                    (float)json_number_value(json_array_get(cond, k));
    }
    json_decref(root);
    static float x[NROWS * ETA_NFEATURES];
    static double margin[NROWS], prob[NROWS];
    static double contrib[NROWS * (ETA_NFEATURES + 1)];
    for (int i = 0; i < NROWS; i++)
        memcpy(&x[i * ETA_NFEATURES], rows[i].x, sizeof(rows[i].x));
    CHECK(booster_predict(booster, x, NROWS, BOOSTER_MARGIN, margin, err, sizeof(err)));
    CHECK(booster_predict(booster, x, NROWS, BOOSTER_PROB, prob, err, sizeof(err)));
    CHECK(booster_predict(booster, x, NROWS, BOOSTER_CONTRIB_APPROX, contrib, err,
                          sizeof(err)));
    int off = 0, coff = 0, correct = 0;
    float c[ETA_NFEATURES + 1];
    for (int i = 0; i < NROWS; i++) {
        double s = eta_model_score(m, rows[i].x, c);
        off += !NEAR(eta_model_margin(m, rows[i].x), margin[i], 1e-5);
        off += !NEAR(s, prob[i], 1e-6);
        for (int k = 0; k <= ETA_NFEATURES; k++)
            coff += !NEAR(c[k], contrib[i * (ETA_NFEATURES + 1) + k], 1e-4);
        correct += i < NROWS - 100 && (s >= 0.5) == (rows[i].label == 1);
    }
    CHECK_EQ(off, 0);
    CHECK_EQ(coff, 0);
    CHECK(correct > (NROWS - 100) * 95 / 100);
    /* through a file, too */
    char path[] = "/tmp/nj-eta-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct eta_model *m2 = eta_model_load_file(path, err, sizeof(err));
    CHECK(m2 && eta_model_margin(m2, rows[3].x) == eta_model_margin(m, rows[3].x));
    eta_model_free(m2);
    unlink(path);
    free(booster);
    eta_model_free(m);
    free(text);
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

static void test_model_for_other_features_is_refused(void)
{
    char *text = trained_model_text();
    REQUIRE(text != NULL);
    char err[1024] = "";
    char *renamed = replace(text, "\"sni_len\"", "\"sni_length\"");
    CHECK(eta_model_load_buffer(renamed, strlen(renamed), "old.json", err,
                                sizeof(err)) == NULL);
    CHECK(strstr(err, "old.json") && strstr(err, "'sni_length'") &&
          strstr(err, "'sni_len'") && strstr(err, "nightjar-train"));
    char *fewer = replace(text, "  \"duration\",\n", "");
    CHECK(fewer != NULL);
    CHECK(eta_model_load_buffer(fewer, strlen(fewer), "short.json", err,
                                sizeof(err)) == NULL);
    char want[64];
    snprintf(want, sizeof(want), "trained on %d features", ETA_NFEATURES - 1);
    CHECK(strstr(err, want) != NULL);
    char *other = replace(text, "nightjar-eta-model", "something-else");
    CHECK(eta_model_load_buffer(other, strlen(other), "x", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not a nightjar ETA model") != NULL);
    CHECK(eta_model_load_buffer("{", 1, "y", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not JSON") != NULL);
    CHECK(eta_model_load_file("/nonexistent/model.json", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent/model.json") != NULL);
    free(renamed);
    free(fewer);
    free(other);
    free(text);
}

static void test_builtin_model_loads(void)
{
    char err[512] = "";
    struct eta_model *m = eta_model_load_default(err, sizeof(err));
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(eta_model_trees(m) > 0);
    CHECK(eta_model_threshold(m) >= 0.5 && eta_model_threshold(m) < 1);
    CHECK(strncmp(eta_model_version(m), "eta-", 4) == 0);
    eta_model_free(m);
}

/* The built-in model comes packed (made at build time from the JSON): the
 * same model as the JSON gives -- name, threshold, trees, and every score
 * and contribution on 2,000 vectors -- and a damaged packed form is
 * refused, never read past its end or followed outside its nodes (the
 * JSON is what a binary without the packed form reads: the fuzz build). */
static void test_packed_builtin_model_is_the_json(void)
{
    extern const char eta_default_model_json[], eta_default_model_json_end[];
    extern const unsigned char eta_default_model_packed[], eta_default_model_packed_end[];
    char err[512] = "";
    struct eta_model *json = eta_model_load_buffer(
        eta_default_model_json,
        (size_t)(eta_default_model_json_end - eta_default_model_json), "json", err,
        sizeof(err));
    size_t len = (size_t)(eta_default_model_packed_end - eta_default_model_packed);
    struct eta_model *packed = eta_model_load_packed(eta_default_model_packed, len,
                                                     err, sizeof(err));
    REQUIRE(json && packed);
    CHECK(strcmp(eta_model_version(json), eta_model_version(packed)) == 0);
    CHECK(eta_model_threshold(json) == eta_model_threshold(packed));
    CHECK(eta_model_trees(json) == eta_model_trees(packed));
    CHECK(eta_model_min_packets(json) == eta_model_min_packets(packed));
    srand(11);
    size_t differ = 0;
    for (int i = 0; i < 2000; i++) {
        float x[ETA_NFEATURES], ca[ETA_NFEATURES + 1], cb[ETA_NFEATURES + 1];
        for (int k = 0; k < ETA_NFEATURES; k++)
            x[k] = rand() % 5 == 0 ? NAN : (float)(rand() % 20000) / 10.0f;
        differ += eta_model_score(json, x, ca) != eta_model_score(packed, x, cb) ||
                  memcmp(ca, cb, sizeof(ca)) != 0;
    }
    CHECK_EQ(differ, 0);
    /* damage: cut short, another magic, a root pointing outside */
    unsigned char *b = malloc(len);
    memcpy(b, eta_default_model_packed, len);
    CHECK(eta_model_load_packed(b, len - 1, err, sizeof(err)) == NULL);
    CHECK(eta_model_load_packed(b, 10, err, sizeof(err)) == NULL);
    b[0] ^= 1;
    CHECK(eta_model_load_packed(b, len, err, sizeof(err)) == NULL);
    b[0] ^= 1;
    size_t roots_at = len - eta_model_trees(json) * sizeof(uint32_t);
    memset(b + roots_at, 0xff, sizeof(uint32_t)); /* the first root: far out */
    CHECK(eta_model_load_packed(b, len, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "outside") != NULL);
    free(b);
    eta_model_free(json);
    eta_model_free(packed);
}

/* eta_model_open: one model for every pipeline that names the same file,
 * freed at the last close; another file is another model; a bad one is
 * refused every time, not cached. */
static void test_open_model_shared(void)
{
    char err[512] = "";
    struct eta_model *a = eta_model_open("", err, sizeof(err));
    struct eta_model *b = eta_model_open("", err, sizeof(err));
    CHECK(a != NULL && a == b);
    char path[] = "/tmp/nj-eta-open-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    extern const char eta_default_model_json[], eta_default_model_json_end[];
    if (fp) {
        fwrite(eta_default_model_json, 1,
               (size_t)(eta_default_model_json_end - eta_default_model_json), fp);
        fclose(fp);
    }
    struct eta_model *c = eta_model_open(path, err, sizeof(err));
    CHECK(c != NULL && c != a);
    CHECK(c && eta_model_trees(c) == eta_model_trees(a));
    CHECK(eta_model_open("/nonexistent/m.json", err, sizeof(err)) == NULL);
    CHECK(eta_model_open("/nonexistent/m.json", err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent/m.json") != NULL);
    eta_model_close(a);
    CHECK(eta_model_trees(b) > 0); /* still held by b */
    eta_model_close(b);
    eta_model_close(c);
    unlink(path);
    struct eta_model *d = eta_model_open("", err, sizeof(err));
    CHECK(d != NULL && eta_model_trees(d) > 0);
    eta_model_close(d);
}

/* ---- training support ------------------------------------------------- */

static void test_metrics_on_known_scores(void)
{
    const double s[] = { 0.9, 0.8, 0.7, 0.6 };
    const int8_t l[] = { 1, 0, 1, 0 };
    struct metrics m;
    metrics_compute(s, l, 4, 0.75, &m);
    CHECK(NEAR(m.auc, 0.75, 1e-12));
    CHECK_EQ(m.tp, 1);
    CHECK_EQ(m.fp, 1);
    CHECK_EQ(m.tn, 1);
    CHECK_EQ(m.fn, 1);
    CHECK(NEAR(m.precision, 0.5, 1e-12) && NEAR(m.recall, 0.5, 1e-12));
    CHECK(NEAR(m.f1, 0.5, 1e-12));
    CHECK(NEAR(metrics_tpr_at_fpr(s, l, 4, 0), 0.5, 1e-12));
    CHECK(NEAR(metrics_tpr_at_fpr(s, l, 4, 0.5), 1.0, 1e-12));
    CHECK(NEAR(metrics_threshold_for_fpr(s, l, 4, 0), 0.9, 1e-12));
    CHECK(NEAR(metrics_threshold_for_fpr(s, l, 4, 0.5), 0.7, 1e-12));
    const double tie[] = { 0.5, 0.5 };
    const int8_t tl[] = { 1, 0 };
    metrics_compute(tie, tl, 2, 0.5, &m);
    CHECK(NEAR(m.auc, 0.5, 1e-12)); /* a tie counts half */
    const int8_t one[] = { 1, 1 };
    metrics_compute(tie, one, 2, 0.5, &m);
    CHECK(isnan(m.auc));
    struct roc_point pts[8];
    CHECK_EQ(metrics_roc(s, l, 4, pts, 8), 5);
    CHECK(pts[4].fpr == 1 && pts[4].tpr == 1);
}

static void test_labels_csv_and_flow_labels(void)
{
    char path[] = "/tmp/nj-labels-XXXXXX";
    int fd = mkstemp(path);
    const char *csv =
        "file,label,victim_hosts,malicious_servers,family,notes\n"
        "a.pcap,malicious,10.0.0.1;10.0.0.2,198.51.100.7,X,\"C2, on 443\"\n"
        "b.pcap,benign,,,,\"quoted \"\"notes\"\"\"\n"
        "c.pcap,malicious,10.0.0.1,,unknown,host only\n";
    CHECK(write(fd, csv, strlen(csv)) == (ssize_t)strlen(csv));
    close(fd);
    struct labels l;
    char err[512] = "";
    CHECK(labels_load(&l, path, err, sizeof(err)));
    CHECK_EQ(l.n, 3);
    const struct source_label *a = labels_find(&l, "a.pcap");
    CHECK(a && a->n_victims == 2 && a->n_servers == 1);
    CHECK_STR(a->family, "X");
    CHECK_STR(labels_find(&l, "b.pcap")->family, "");
    uint8_t v1[16] = { 10, 0, 0, 1 }, v3[16] = { 10, 0, 0, 3 },
            c2[16] = { 198, 51, 100, 7 }, web[16] = { 203, 0, 113, 9 };
    CHECK_EQ(label_flow(a, 4, v1, c2, false), LABEL_MALICIOUS);
    CHECK_EQ(label_flow(a, 4, c2, v1, false), LABEL_MALICIOUS); /* reversed */
    CHECK_EQ(label_flow(a, 4, v1, web, false), LABEL_UNKNOWN);
    CHECK_EQ(label_flow(a, 4, v1, web, true), LABEL_BENIGN);
    CHECK_EQ(label_flow(a, 4, v3, c2, false), LABEL_UNKNOWN);
    CHECK_EQ(label_flow(labels_find(&l, "b.pcap"), 4, v1, c2, false), LABEL_BENIGN);
    CHECK_EQ(label_flow(labels_find(&l, "c.pcap"), 4, v1, c2, true), LABEL_UNKNOWN);
    CHECK(labels_find(&l, "zzz.pcap") == NULL);
    labels_free(&l);
    const char *bad = "file,label\nx.pcap,evil\n";
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad));
    close(fd);
    CHECK(!labels_load(&l, path, err, sizeof(err)));
    CHECK(strstr(err, ":2:") && strstr(err, "evil"));
    unlink(path);
}

static void test_family_key_drops_parentheticals_and_case(void)
{
    char k[FAMILY_KEY_MAX], k2[FAMILY_KEY_MAX];
    CHECK_EQ(family_key("Emotet (Jan 2020)", k, sizeof(k)), 6);
    CHECK_STR(k, "emotet");
    family_key("Emotet (epoch 4/5, Dec 2021)", k2, sizeof(k2));
    CHECK_STR(k2, k);
    family_key("  EMOTET ", k2, sizeof(k2));
    CHECK_STR(k2, "emotet");
    family_key("MITRE Caldera (Sandcat agent)", k, sizeof(k));
    CHECK_STR(k, "mitre caldera");
    family_key("PowerShell Empire (HTTP listener)", k, sizeof(k));
    family_key("PowerShell Empire", k2, sizeof(k2));
    CHECK_STR(k, "powershell empire");
    CHECK_STR(k2, k);
    /* in the middle: one blank stays; nested; unclosed runs to the end */
    family_key("Foudre (Infy/Prince of Persia) backdoor", k, sizeof(k));
    CHECK_STR(k, "foudre backdoor");
    family_key("A (b (c) d) E", k, sizeof(k));
    CHECK_STR(k, "a e");
    family_key("Hancitor (with Zeus Panda", k, sizeof(k));
    CHECK_STR(k, "hancitor");
    family_key("Ave  Maria /\tWarzone RAT", k, sizeof(k));
    CHECK_STR(k, "ave maria / warzone rat");
    /* nothing left: no family */
    CHECK_EQ(family_key("", k, sizeof(k)), 0);
    CHECK_EQ(family_key(" (delivery only) ", k, sizeof(k)), 0);
    CHECK_STR(k, "");
    /* cut to the buffer, still terminated */
    char small[5];
    CHECK_EQ(family_key("SmokeLoader", small, sizeof(small)), 4);
    CHECK_STR(small, "smok");
    /* file stems: blanks and other characters as one dash */
    char stem[64];
    family_file_stem("mitre caldera", stem, sizeof(stem));
    CHECK_STR(stem, "mitre-caldera");
    family_file_stem("ave maria / warzone rat", stem, sizeof(stem));
    CHECK_STR(stem, "ave-maria-warzone-rat");
    family_file_stem("gozi/ursnif", stem, sizeof(stem));
    CHECK_STR(stem, "gozi-ursnif");
    family_file_stem("../..", stem, sizeof(stem));
    CHECK_STR(stem, "family");
}

/* A dataset of sources only (folds need no rows): name, family, label. */
static void add_source(struct dataset *d, const char *name, const char *family,
                       int8_t label, bool test)
{
    d->sources = realloc(d->sources, (d->n_sources + 1) * sizeof(*d->sources));
    struct source_info *s = &d->sources[d->n_sources++];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->family, sizeof(s->family), "%s", family);
    s->label = label;
    s->test = test;
    s->rows[label == LABEL_MALICIOUS] = 3;
}

static void test_lofo_folds_by_family_with_benign_spread(void)
{
    struct dataset d = { 0 };
    add_source(&d, "emotet-02.pcap", "Emotet (epoch 4/5, Dec 2021)", LABEL_MALICIOUS, false);
    add_source(&d, "caldera-sandcat-01.pcap", "MITRE Caldera (Sandcat agent)", LABEL_MALICIOUS, false);
    add_source(&d, "empire-http-01.pcap", "PowerShell Empire (HTTP listener)", LABEL_MALICIOUS, false);
    add_source(&d, "emotet-04.pcap", "Emotet (Jan 2020)", LABEL_MALICIOUS, false);
    add_source(&d, "empire-2017-02-13.pcap", "PowerShell Empire", LABEL_MALICIOUS, false);
    add_source(&d, "caldera-manx-tcp-01.pcap", "MITRE Caldera (Manx agent, TCP)", LABEL_MALICIOUS, false);
    add_source(&d, "held-out.pcap", "Emotet", LABEL_MALICIOUS, true);
    char name[64];
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "benign-%02d.pcap", i);
        /* a benign capture's family text (a description) plays no part */
        add_source(&d, name, i % 2 ? "firefox browsing" : "", LABEL_BENIGN, false);
    }
    int fold[68], again[68]; /* 67 sources, one more added below */
    char (*keys)[FAMILY_KEY_MAX] = NULL, (*keys2)[FAMILY_KEY_MAX] = NULL;
    char err[256] = "";
    int nf = lofo_assign(&d, fold, &keys, err, sizeof(err));
    CHECK_EQ(nf, 3);
    if (nf != 3)
        return;
    /* folds in key order; one family, one fold, whatever the parenthetical */
    CHECK_STR(keys[0], "emotet");
    CHECK_STR(keys[1], "mitre caldera");
    CHECK_STR(keys[2], "powershell empire");
    CHECK_EQ(fold[0], 0);
    CHECK_EQ(fold[3], 0);
    CHECK_EQ(fold[1], 1);
    CHECK_EQ(fold[5], 1);
    CHECK_EQ(fold[2], 2);
    CHECK_EQ(fold[4], 2);
    CHECK_EQ(fold[6], -1);                 /* test sources stay out */
    /* benign: every capture in a fold, the one its name's hash picks, every
     * fold gets some, and the same on every run */
    int per_fold[3] = { 0, 0, 0 };
    for (int s = 7; s < 67; s++) {
        CHECK(fold[s] >= 0 && fold[s] < 3);
        CHECK_EQ(fold[s], benign_fold(d.sources[s].name, 3));
        if (fold[s] >= 0 && fold[s] < 3)
            per_fold[fold[s]]++;
    }
    CHECK(per_fold[0] >= 10 && per_fold[1] >= 10 && per_fold[2] >= 10);
    CHECK_EQ(benign_fold("benign-dns.pcap", 54),
             (int)(fnv1a_str(FNV1A_SEED, "benign-dns.pcap") % 54));
    CHECK_EQ(lofo_assign(&d, again, &keys2, err, sizeof(err)), 3);
    CHECK(keys2 && memcmp(fold, again, 67 * sizeof(int)) == 0);
    free(keys);
    free(keys2);
    /* a malicious capture without a family is an error that names it */
    add_source(&d, "mystery.pcap", " (no idea) ", LABEL_MALICIOUS, false);
    CHECK_EQ(lofo_assign(&d, again, &keys2, err, sizeof(err)), -1);
    CHECK(keys2 == NULL && strstr(err, "mystery.pcap") && strstr(err, "family"));
    /* one family: its fold's model would have nothing malicious to learn */
    struct dataset one = { 0 };
    add_source(&one, "a.pcap", "Emotet (a)", LABEL_MALICIOUS, false);
    add_source(&one, "b.pcap", "emotet", LABEL_MALICIOUS, false);
    add_source(&one, "c.pcap", "", LABEL_BENIGN, false);
    CHECK_EQ(lofo_assign(&one, again, &keys2, err, sizeof(err)), -1);
    CHECK(strstr(err, "two families"));
    /* k-fold, for comparison: malicious sources dealt first, by name */
    kfold_assign(&one, 2, again);
    CHECK_EQ(again[0], 0);
    CHECK_EQ(again[1], 1);
    CHECK_EQ(again[2], 0);
    dataset_free(&one);
    dataset_free(&d);
}

static void test_roc_picture_is_a_png(void)
{
    struct roc_point pts[] = { { 0, 0, 1 }, { 0.001, 0.5, 0.9 }, { 0.1, 0.9, 0.5 },
                               { 1, 1, 0 } };
    char path[] = "/tmp/nj-roc-XXXXXX";
    close(mkstemp(path));
    char err[256];
    CHECK(roc_png_write(path, pts, 4, 0.95, "ROC TEST", err, sizeof(err)));
    FILE *fp = fopen(path, "rb");
    uint8_t h[24] = { 0 };
    CHECK(fp && fread(h, 1, 24, fp) == 24);
    if (fp)
        fclose(fp);
    CHECK(memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(memcmp(h + 12, "IHDR", 4) == 0);
    CHECK_EQ((h[16] << 24 | h[17] << 16 | h[18] << 8 | h[19]), 1000);
    unlink(path);
}

TEST_LIST(test_shape_features_of_known_splt, test_handshake_and_context_features,
          test_every_feature_is_named_once, test_regular_beacon_vs_human_browsing,
          test_history_keeps_pairs_and_counts_evictions,
          test_one_off_pairs_do_not_push_out_a_beacon,
          test_tree_walker_matches_xgboost, test_model_for_other_features_is_refused,
          test_builtin_model_loads, test_packed_builtin_model_is_the_json, test_open_model_shared,
          test_metrics_on_known_scores,
          test_labels_csv_and_flow_labels,
          test_family_key_drops_parentheticals_and_case,
          test_lofo_folds_by_family_with_benign_spread, test_roc_picture_is_a_png)
