/* eta_model.c -- model files and tree walking (see eta_model.h).
 *
 * XGBoost's JSON keeps each tree as parallel arrays (left_children,
 * right_children, split_indices, split_conditions, default_left,
 * sum_hessian); a leaf has left child -1 and its value in split_conditions.
 * A sample goes left when its value is below the condition, and to the
 * default side when the value is missing (NaN). Each node's mean is the
 * hessian-weighted mean of its children, which is what the contribution of
 * a split is measured against.
 */
#include "eta/eta_model.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/text.h"

struct eta_node {
    float cond;          /* split threshold, or the leaf value */
    float mean;          /* hessian-weighted mean of the leaves below */
    int32_t left, right; /* absolute node indexes; -1 for a leaf */
    uint16_t feature;
    uint8_t default_left;
    uint8_t leaf;
};

struct eta_model {
    struct eta_node *nodes;
    uint32_t n_nodes;
    uint32_t *roots;
    uint32_t n_trees;
    double base_margin;
    double threshold;
    uint32_t min_packets;
    char version[128];
    /* eta_model_open's: where it came from ("" built in), who holds it,
     * the next open model */
    char path[4096];
    unsigned refs;
    struct eta_model *next_open;
};

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct eta_model *open_models;

extern const char eta_default_model_json[];
extern const char eta_default_model_json_end[];
/* eta_default_packed.S, linked into the binaries, not the archive */
extern const unsigned char eta_default_model_packed[] __attribute__((weak));
extern const unsigned char eta_default_model_packed_end[] __attribute__((weak));

static bool fail(char *err, size_t errlen, const char *origin, const char *msg)
{
    snprintf(err, errlen, "model %s: %s", origin, msg);
    return false;
}

static bool check_features(json_t *list, const char *origin, char *err,
                           size_t errlen)
{
    if (!json_is_array(list))
        return fail(err, errlen, origin, "no \"features\" list");
    size_t n = json_array_size(list);
    for (size_t i = 0; i < n || i < ETA_NFEATURES; i++) {
        const char *have = i < n ? json_string_value(json_array_get(list, i)) : NULL;
        const char *want = i < ETA_NFEATURES ? eta_feature_names[i] : NULL;
        if (have && want && strcmp(have, want) == 0)
            continue;
        snprintf(err, errlen,
                 "model %s was trained on %zu features, this nightjar computes "
                 "%d (%s); they differ at position %zu: the model has '%s', "
                 "nightjar '%s'. Train a model for this version with "
                 "nightjar-train, or run without --model for the built-in one",
                 origin, n, ETA_NFEATURES, ETA_FEATURE_SET, i,
                 have ? have : "(nothing)", want ? want : "(nothing)");
        return false;
    }
    return true;
}

static double node_mean(struct eta_node *nodes, uint32_t i, const double *hess,
                        int depth)
{
    struct eta_node *n = &nodes[i];
    if (n->leaf || depth > 64)
        return n->mean = n->cond;
    double l = node_mean(nodes, (uint32_t)n->left, hess, depth + 1);
    double r = node_mean(nodes, (uint32_t)n->right, hess, depth + 1);
    double h = hess[i];
    n->mean = (float)(h > 0 ? (l * hess[n->left] + r * hess[n->right]) / h
                            : (l + r) / 2);
    return n->mean;
}

static double num_at(json_t *a, size_t i) { return json_number_value(json_array_get(a, i)); }

/* One tree's arrays into nodes[base..base+n). */
static bool load_tree(struct eta_model *m, json_t *t, uint32_t base, uint32_t n,
                      double *hess, const char *origin, char *err, size_t errlen)
{
    json_t *left = json_object_get(t, "left_children");
    json_t *right = json_object_get(t, "right_children");
    json_t *feat = json_object_get(t, "split_indices");
    json_t *cond = json_object_get(t, "split_conditions");
    json_t *dl = json_object_get(t, "default_left");
    json_t *sh = json_object_get(t, "sum_hessian");
    json_t *arrays[] = { left, right, feat, cond, dl, sh };
    for (size_t k = 0; k < sizeof(arrays) / sizeof(arrays[0]); k++)
        if (json_array_size(arrays[k]) != n)
            return fail(err, errlen, origin, "a tree's arrays disagree in length");
    for (uint32_t i = 0; i < n; i++) {
        struct eta_node *nd = &m->nodes[base + i];
        double l = num_at(left, i), r = num_at(right, i), fi = num_at(feat, i);
        nd->cond = (float)num_at(cond, i);
        nd->default_left = num_at(dl, i) != 0;
        hess[base + i] = num_at(sh, i);
        nd->leaf = l < 0;
        nd->left = nd->right = -1;
        if (nd->leaf)
            continue;
        /* children come after their parent: this also rules out loops */
        if (l <= i || r <= i || l >= n || r >= n || fi < 0 || fi >= ETA_NFEATURES)
            return fail(err, errlen, origin, "a tree node points outside its tree");
        nd->left = (int32_t)(base + (uint32_t)l);
        nd->right = (int32_t)(base + (uint32_t)r);
        nd->feature = (uint16_t)fi;
    }
    node_mean(m->nodes, base, hess, 0);
    return true;
}

static bool load_trees(struct eta_model *m, json_t *booster, const char *origin,
                       char *err, size_t errlen)
{
    json_t *learner = json_object_get(booster, "learner");
    json_t *gb = json_object_get(learner, "gradient_booster");
    const char *name = json_string_value(json_object_get(gb, "name"));
    const char *obj = json_string_value(
        json_object_get(json_object_get(learner, "objective"), "name"));
    if (!name || strcmp(name, "gbtree") != 0)
        return fail(err, errlen, origin, "the booster is not XGBoost gbtree");
    if (!obj || strcmp(obj, "binary:logistic") != 0)
        return fail(err, errlen, origin, "the objective is not binary:logistic");
    const char *bs = json_string_value(json_object_get(
        json_object_get(learner, "learner_model_param"), "base_score"));
    double base = bs ? strtod(bs, NULL) : 0.5;
    if (!(base > 0 && base < 1))
        return fail(err, errlen, origin, "base_score is not a probability");
    m->base_margin = log(base / (1 - base));
    json_t *trees = json_object_get(json_object_get(gb, "model"), "trees");
    m->n_trees = (uint32_t)json_array_size(trees);
    if (!m->n_trees)
        return fail(err, errlen, origin, "the booster has no trees");
    size_t total = 0;
    for (uint32_t i = 0; i < m->n_trees; i++)
        total += json_array_size(json_object_get(json_array_get(trees, i),
                                                 "left_children"));
    m->nodes = calloc(total ? total : 1, sizeof(*m->nodes));
    m->roots = calloc(m->n_trees, sizeof(*m->roots));
    double *hess = calloc(total ? total : 1, sizeof(double));
    bool ok = m->nodes && m->roots && hess;
    if (!ok)
        fail(err, errlen, origin, "out of memory");
    uint32_t base_i = 0;
    for (uint32_t i = 0; ok && i < m->n_trees; i++) {
        json_t *t = json_array_get(trees, i);
        uint32_t n = (uint32_t)json_array_size(json_object_get(t, "left_children"));
        m->roots[i] = base_i;
        ok = n > 0 ? load_tree(m, t, base_i, n, hess, origin, err, errlen)
                   : fail(err, errlen, origin, "an empty tree");
        base_i += n;
    }
    m->n_nodes = base_i;
    free(hess);
    return ok;
}

static bool load_header(struct eta_model *m, json_t *root, const char *origin,
                        char *err, size_t errlen)
{
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, ETA_MODEL_FORMAT) != 0)
        return fail(err, errlen, origin, "not a nightjar ETA model "
                    "(\"format\" is not \"" ETA_MODEL_FORMAT "\")");
    json_int_t fv = json_integer_value(json_object_get(root, "format_version"));
    if (fv != ETA_MODEL_FORMAT_VERSION) {
        snprintf(err, errlen, "model %s: format version %lld, this nightjar "
                 "reads version %d", origin, (long long)fv,
                 ETA_MODEL_FORMAT_VERSION);
        return false;
    }
    const char *v = json_string_value(json_object_get(root, "model_version"));
    text_copy(m->version, sizeof(m->version), v ? v : "unnamed",
              strlen(v ? v : "unnamed"));
    m->threshold = json_number_value(json_object_get(root, "threshold"));
    if (!(m->threshold > 0 && m->threshold < 1))
        return fail(err, errlen, origin, "\"threshold\" must be between 0 and 1");
    json_int_t mp = json_integer_value(json_object_get(root, "min_payload_packets"));
    m->min_packets = mp > 0 && mp < 1000000 ? (uint32_t)mp : 1;
    return check_features(json_object_get(root, "features"), origin, err, errlen);
}

struct eta_model *eta_model_load_buffer(const char *buf, size_t len,
                                        const char *origin, char *err,
                                        size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(buf, len, 0, &je);
    if (!root) {
        snprintf(err, errlen, "model %s: not JSON (line %d: %s)", origin,
                 je.line, je.text);
        return NULL;
    }
    struct eta_model *m = calloc(1, sizeof(*m));
    bool ok = m != NULL;
    if (m) {
        ok = load_header(m, root, origin, err, errlen) &&
             load_trees(m, json_object_get(root, "booster"), origin, err, errlen);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    json_decref(root);
    if (!ok) {
        eta_model_free(m);
        return NULL;
    }
    return m;
}

struct eta_model *eta_model_load_file(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "model %s: %m", path);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 1 << 20);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        if (!got)
            break;
        len += got;
    }
    bool read_ok = !ferror(fp) && buf;
    fclose(fp);
    struct eta_model *m = NULL;
    if (read_ok)
        m = eta_model_load_buffer(buf, len, path, err, errlen);
    else
        snprintf(err, errlen, "model %s: read error", path);
    free(buf);
    return m;
}

/* ---- the packed form -------------------------------------------------- */

#define PACK_MAGIC "NJETAPK1"

struct pack_header {
    char magic[8];
    uint32_t node_size, n_nodes, n_trees, min_packets;
    double base_margin, threshold;
    char version[128];
};

bool eta_model_pack(const struct eta_model *m, FILE *out)
{
    struct pack_header h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, PACK_MAGIC, sizeof(h.magic));
    h.node_size = sizeof(struct eta_node);
    h.n_nodes = m->n_nodes;
    h.n_trees = m->n_trees;
    h.min_packets = m->min_packets;
    h.base_margin = m->base_margin;
    h.threshold = m->threshold;
    memcpy(h.version, m->version, sizeof(h.version));
    return fwrite(&h, sizeof(h), 1, out) == 1 &&
           fwrite(m->nodes, sizeof(*m->nodes), m->n_nodes, out) == m->n_nodes &&
           fwrite(m->roots, sizeof(*m->roots), m->n_trees, out) == m->n_trees;
}

/* Checked as a file would be: the build that made it may not be this one. */
struct eta_model *eta_model_load_packed(const unsigned char *buf, size_t len,
                                        char *err, size_t errlen)
{
    struct pack_header h;
    if (len < sizeof(h)) {
        snprintf(err, errlen, "packed model: too short");
        return NULL;
    }
    memcpy(&h, buf, sizeof(h));
    if (memcmp(h.magic, PACK_MAGIC, sizeof(h.magic)) ||
        h.node_size != sizeof(struct eta_node) || !h.n_nodes || !h.n_trees ||
        len != sizeof(h) + (size_t)h.n_nodes * sizeof(struct eta_node) +
                   (size_t)h.n_trees * sizeof(uint32_t)) {
        snprintf(err, errlen, "packed model: not this build's");
        return NULL;
    }
    struct eta_model *m = calloc(1, sizeof(*m));
    if (m) {
        m->nodes = malloc((size_t)h.n_nodes * sizeof(*m->nodes));
        m->roots = malloc((size_t)h.n_trees * sizeof(*m->roots));
    }
    if (!m || !m->nodes || !m->roots) {
        eta_model_free(m);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(m->nodes, buf + sizeof(h), (size_t)h.n_nodes * sizeof(*m->nodes));
    memcpy(m->roots, buf + sizeof(h) + (size_t)h.n_nodes * sizeof(*m->nodes),
           (size_t)h.n_trees * sizeof(*m->roots));
    m->n_nodes = h.n_nodes;
    m->n_trees = h.n_trees;
    m->min_packets = h.min_packets;
    m->base_margin = h.base_margin;
    m->threshold = h.threshold;
    memcpy(m->version, h.version, sizeof(m->version));
    m->version[sizeof(m->version) - 1] = 0;
    bool ok = true;     /* every link inside the array, children after parents */
    for (uint32_t t = 0; ok && t < m->n_trees; t++)
        ok = m->roots[t] < m->n_nodes;
    for (uint32_t i = 0; ok && i < m->n_nodes; i++) {
        const struct eta_node *n = &m->nodes[i];
        ok = n->leaf || ((uint32_t)n->left > i && (uint32_t)n->left < m->n_nodes &&
                         (uint32_t)n->right > i && (uint32_t)n->right < m->n_nodes &&
                         n->feature < ETA_NFEATURES);
    }
    if (!ok) {
        eta_model_free(m);
        snprintf(err, errlen, "packed model: a node points outside the model");
        return NULL;
    }
    return m;
}

struct eta_model *eta_model_load_default(char *err, size_t errlen)
{
    if (eta_default_model_packed && eta_default_model_packed_end) {
        struct eta_model *m = eta_model_load_packed(
            eta_default_model_packed,
            (size_t)(eta_default_model_packed_end - eta_default_model_packed), err,
            errlen);
        if (m)
            return m;
    }
    return eta_model_load_buffer(eta_default_model_json,
                                 (size_t)(eta_default_model_json_end -
                                          eta_default_model_json),
                                 "(built-in)", err, errlen);
}

void eta_model_free(struct eta_model *m)
{
    if (!m)
        return;
    free(m->nodes);
    free(m->roots);
    free(m);
}

struct eta_model *eta_model_open(const char *path, char *err, size_t errlen)
{
    if (strlen(path) >= sizeof(open_models->path)) {
        snprintf(err, errlen, "model %s: path too long", path);
        return NULL;
    }
    pthread_mutex_lock(&open_lock);
    struct eta_model *m = open_models;
    while (m && strcmp(m->path, path))
        m = m->next_open;
    if (!m) {
        m = path[0] ? eta_model_load_file(path, err, errlen)
                    : eta_model_load_default(err, errlen);
        if (m) {
            snprintf(m->path, sizeof(m->path), "%s", path);
            m->next_open = open_models;
            open_models = m;
        }
    }
    if (m)
        m->refs++;
    pthread_mutex_unlock(&open_lock);
    return m;
}

void eta_model_close(struct eta_model *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&open_lock);
    bool last = --m->refs == 0;
    if (last) {
        struct eta_model **at = &open_models;
        while (*at != m)
            at = &(*at)->next_open;
        *at = m->next_open;
    }
    pthread_mutex_unlock(&open_lock);
    if (last)
        eta_model_free(m);
}

const char *eta_model_version(const struct eta_model *m) { return m->version; }
double eta_model_threshold(const struct eta_model *m) { return m->threshold; }
uint32_t eta_model_min_packets(const struct eta_model *m) { return m->min_packets; }
uint32_t eta_model_trees(const struct eta_model *m) { return m->n_trees; }

uint64_t eta_model_memory(const struct eta_model *m)
{
    return m ? sizeof(*m) + (uint64_t)m->n_nodes * sizeof(*m->nodes) +
                   (uint64_t)m->n_trees * sizeof(*m->roots)
             : 0;
}

static inline int32_t next_node(const struct eta_node *n, const float *x)
{
    float v = x[n->feature];
    if (isnan(v))
        return n->default_left ? n->left : n->right;
    return v < n->cond ? n->left : n->right;
}

double eta_model_margin(const struct eta_model *m, const float x[ETA_NFEATURES])
{
    double margin = m->base_margin;
    for (uint32_t t = 0; t < m->n_trees; t++) {
        const struct eta_node *n = &m->nodes[m->roots[t]];
        while (!n->leaf)
            n = &m->nodes[next_node(n, x)];
        margin += n->cond;
    }
    return margin;
}

double eta_model_score(const struct eta_model *m, const float x[ETA_NFEATURES],
                       float *contrib)
{
    if (!contrib)
        return 1.0 / (1.0 + exp(-eta_model_margin(m, x)));
    memset(contrib, 0, (ETA_NFEATURES + 1) * sizeof(float));
    double margin = m->base_margin;
    contrib[ETA_NFEATURES] = (float)m->base_margin;
    for (uint32_t t = 0; t < m->n_trees; t++) {
        const struct eta_node *n = &m->nodes[m->roots[t]];
        contrib[ETA_NFEATURES] += n->mean;
        while (!n->leaf) {
            const struct eta_node *next = &m->nodes[next_node(n, x)];
            contrib[n->feature] += next->mean - n->mean;
            n = next;
        }
        margin += n->cond;
    }
    return 1.0 / (1.0 + exp(-margin));
}
