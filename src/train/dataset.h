/* dataset.h -- labelled feature vectors for nightjar-train.
 *
 * A dataset is rows (one finished flow each: its ETA feature vector, its
 * label, and the source it came from) gathered from sources: captures read
 * through the sensor's own pipeline, so training sees exactly the features
 * the sensor will score, or EVE logs written with eta.log-features. Labels
 * come per source ("every flow of this capture is malicious") or from a
 * labels CSV naming the infected hosts and malicious servers of each
 * capture, where a flow is malicious when it joins one of each and flows
 * the CSV cannot vouch for are left out (counted). The source is the unit
 * of every train/test split: flows of one capture never sit on both sides.
 */
#ifndef NIGHTJAR_TRAIN_DATASET_H
#define NIGHTJAR_TRAIN_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "eta/eta_features.h"

#define DATASET_NAME_MAX 256

enum label { LABEL_BENIGN = 0, LABEL_MALICIOUS = 1, LABEL_UNKNOWN = -1 };

/* One source's labelling rule. */
#define LABEL_HOSTS_MAX 16
struct label_host {
    uint8_t v;                    /* 4 or 6 */
    uint8_t b[16];
};

struct source_label {
    char file[DATASET_NAME_MAX];  /* base name, as the CSV gives it */
    char family[DATASET_NAME_MAX]; /* the family column's text, or "" */
    enum label label;             /* capture-level label */
    int n_victims, n_servers;
    struct label_host victims[LABEL_HOSTS_MAX], servers[LABEL_HOSTS_MAX];
};

struct labels {
    struct source_label *e;
    size_t n;
};

/* Reads a labels CSV with a header naming at least file and label
 * (benign/malicious), and optionally victim_hosts and malicious_servers
 * (';'-separated addresses) and family (free text; see folds.h for how it
 * groups captures). Other columns are ignored. false with a message on
 * error. */
bool labels_load(struct labels *l, const char *path, char *err, size_t errlen);
void labels_free(struct labels *l);
const struct source_label *labels_find(const struct labels *l, const char *file);

struct row {
    float x[ETA_NFEATURES];
    int8_t label;
    uint32_t source;      /* index into dataset.sources */
};

struct source_info {
    char path[1024];
    char name[DATASET_NAME_MAX];
    char family[DATASET_NAME_MAX]; /* from the labels CSV, or "" */
    int8_t label;         /* capture-level: given, or the CSV's */
    bool test;            /* held out: only evaluated */
    uint64_t rows[2];     /* benign, malicious */
    uint64_t skipped;     /* flows the labels do not vouch for */
    uint64_t too_small;   /* flows below min-packets */
};

struct dataset {
    struct row *rows;
    size_t n, cap;
    struct source_info *sources;
    size_t n_sources, cap_sources;
};

struct dataset_options {
    const struct nj_config *cfg;   /* sensor settings for reading captures */
    bool unlisted_benign;          /* CSV: unlabelled flows are benign */
};

/* Adds one source: a capture (pcap/pcapng) or an EVE log (by content).
 * label: LABEL_UNKNOWN to use the CSV entry for its base name. */
bool dataset_add(struct dataset *d, const char *path, enum label label,
                 const struct labels *csv, bool test,
                 const struct dataset_options *o, char *err, size_t errlen);
void dataset_free(struct dataset *d);

/* Internals shared by dataset.c and dataset_capture.c. */
struct collect {
    struct dataset *d;
    uint32_t source;
    enum label label;                 /* or LABEL_UNKNOWN: use rule */
    const struct source_label *rule;
    bool unlisted_benign;
    bool oom;
};
bool dataset_add_row(struct dataset *d, const float *x, enum label label,
                     uint32_t source);
bool dataset_read_capture(struct collect *c, const char *path,
                          const struct nj_config *cfg, char *err,
                          size_t errlen);

/* Decides a flow's label from a source rule: client/server addresses. */
enum label label_flow(const struct source_label *s, uint8_t ip_version,
                      const uint8_t *client, const uint8_t *server,
                      bool unlisted_benign);

#endif
