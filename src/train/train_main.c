/* train_main.c -- nightjar-train: labelled traffic in, an ETA model file
 * and an honest account of how well it does out.
 *
 * Sources (captures or EVE logs) become rows through dataset.c; sources
 * are dealt into k folds (sources with malicious flows first, so every
 * fold gets some) and each fold is scored by a model trained on the
 * others, so every flow is scored by a model that never saw its capture.
 * Those out-of-fold scores give the cross-validated metrics and choose the
 * alert threshold; the shipped model is then trained on every training
 * source. Sources given with --test are never trained on: the final model
 * is evaluated on them. --lofo scores every malicious family's captures
 * with a model trained without that family (folds.h), and --lofo-models
 * writes those models. --evaluate scores sources with an existing model.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "eta/eta_model.h"
#include "train/booster.h"
#include "train/dataset.h"
#include "train/folds.h"
#include "train/metrics.h"
#include "train/model_file.h"
#include "train/roc_png.h"
#include "util/text.h"
#include "version.h"

struct input {
    const char *path;
    enum label label;
    bool test;
};

struct opts {
    struct input in[4096];
    int n_in;
    const char *labels_csv, *dir, *output, *report, *evaluate, *version;
    const char *lofo_models;
    int folds;
    bool lofo;
    double target_fpr, threshold;
    uint32_t min_packets;
    bool unlisted_benign, quiet;
    struct booster_params bp;
    struct nj_config cfg;
};

static void usage(FILE *out)
{
    fprintf(out,
"Usage: nightjar-train [options] SOURCE[:LABEL]... -o MODEL\n"
"       nightjar-train --evaluate MODEL [options] SOURCE[:LABEL]...\n"
"       nightjar-train --lofo [--lofo-models DIR] --labels CSV --dir DIR [options]\n"
"       nightjar-train --list-features\n"
"\n"
"Trains the encrypted-traffic model the sensor loads with --model, from\n"
"labelled traffic, and reports how well it does on captures it never saw.\n"
"A SOURCE is a capture (pcap/pcapng) or an EVE log written with\n"
"--set eta.log-features=yes; LABEL is benign or malicious and labels every\n"
"flow of the source. Without a LABEL the source is looked up by file name\n"
"in the labels CSV.\n"
"\n"
"Data:\n"
"  -l, --labels CSV       labels per capture: columns file, label and\n"
"                         optionally victim_hosts, malicious_servers\n"
"                         (';'-separated); a flow is malicious when it joins\n"
"                         a victim and a malicious server\n"
"  -d, --dir DIR          add every file the labels CSV names, from DIR\n"
"  -t, --test SOURCE[:LABEL]  held out: only evaluated, never trained on\n"
"      --unlisted-benign  flows of a malicious capture that the CSV does not\n"
"                         name count as benign (default: left out)\n"
"      --min-packets N    payload packets a flow without a TLS/QUIC\n"
"                         handshake needs (default 4; kept in the model)\n"
"  -c, --config FILE / -s, --set NAME=VALUE   sensor settings for reading\n"
"\n"
"Model:\n"
"  -o, --output FILE      the model file to write\n"
"      --model-version S  its version name (default: eta-<sha256 prefix>)\n"
"  -k, --folds K          cross-validation folds by source (default 5;\n"
"                         0: none)\n"
"      --lofo             also leave-one-family-out: each malicious family\n"
"                         (the labels CSV's family column, parentheticals\n"
"                         dropped, case-folded) is one fold, scored by a\n"
"                         model trained without any capture of it; benign\n"
"                         captures are spread over the folds by a hash of\n"
"                         their name. Reports the same figures as k-fold and\n"
"                         a per-family table; with --folds 0 its scores\n"
"                         choose the threshold. No -o needed\n"
"      --lofo-models DIR  (implies --lofo) write each fold's model as\n"
"                         DIR/FAMILY.json (blanks and other characters as\n"
"                         '-'), for running the sensor on that family's\n"
"                         captures with a model that never saw it\n"
"      --rounds N         boosting rounds (default 200)\n"
"      --max-depth N      tree depth (default 4)\n"
"      --learning-rate X  (default 0.1)\n"
"      --min-child-weight X  (default 1)\n"
"      --source-balance   every source weighs the same within its class, so\n"
"                         captures with many flows do not drown the others\n"
"      --target-fpr X     threshold: the lowest out-of-fold score that keeps\n"
"                         the false-positive rate at X (default 0.001),\n"
"                         never below 0.5\n"
"      --threshold X      a fixed threshold instead\n"
"\n"
"Output:\n"
"  -r, --report DIR       metrics.json, roc-cv.png, roc-lofo.png,\n"
"                         roc-test.png, scores.csv\n"
"  -q, --quiet            no summary on stdout\n"
"      --list-features    the feature names and definitions, and exit\n"
"  -h, --help\n");
}

static bool parse_input(struct opts *o, const char *arg, bool test)
{
    if (o->n_in >= (int)(sizeof(o->in) / sizeof(o->in[0])))
        return false;
    struct input *in = &o->in[o->n_in++];
    in->path = arg;
    in->label = LABEL_UNKNOWN;
    in->test = test;
    const char *colon = strrchr(arg, ':');
    if (colon && (!strcmp(colon, ":benign") || !strcmp(colon, ":malicious"))) {
        char *p = strdup(arg); /* lives as long as the process */
        if (!p)
            return false;
        p[colon - arg] = 0;
        in->path = p;
        in->label = colon[1] == 'b' ? LABEL_BENIGN : LABEL_MALICIOUS;
    }
    return true;
}

static void list_features(void)
{
    printf("| # | feature | definition |\n|---|---|---|\n");
    for (int i = 0; i < ETA_NFEATURES; i++)
        printf("| %d | `%s` | %s |\n", i, eta_feature_names[i],
               eta_feature_docs[i]);
}

enum { O_BALANCE = 250, O_UNLISTED = 256, O_MINPK, O_VERSION, O_ROUNDS, O_DEPTH, O_LR, O_MCW,
       O_FPR, O_THRESH, O_LIST, O_EVAL, O_LOFO, O_LOFO_MODELS };

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        { "labels", required_argument, NULL, 'l' },
        { "dir", required_argument, NULL, 'd' },
        { "test", required_argument, NULL, 't' },
        { "output", required_argument, NULL, 'o' },
        { "report", required_argument, NULL, 'r' },
        { "folds", required_argument, NULL, 'k' },
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "unlisted-benign", no_argument, NULL, O_UNLISTED },
        { "source-balance", no_argument, NULL, O_BALANCE },
        { "min-packets", required_argument, NULL, O_MINPK },
        { "model-version", required_argument, NULL, O_VERSION },
        { "rounds", required_argument, NULL, O_ROUNDS },
        { "max-depth", required_argument, NULL, O_DEPTH },
        { "learning-rate", required_argument, NULL, O_LR },
        { "min-child-weight", required_argument, NULL, O_MCW },
        { "target-fpr", required_argument, NULL, O_FPR },
        { "threshold", required_argument, NULL, O_THRESH },
        { "list-features", no_argument, NULL, O_LIST },
        { "evaluate", required_argument, NULL, O_EVAL },
        { "lofo", no_argument, NULL, O_LOFO },
        { "lofo-models", required_argument, NULL, O_LOFO_MODELS },
        { NULL, 0, NULL, 0 },
    };
    char err[512];
    int c;
    while ((c = getopt_long(argc, argv, "l:d:t:o:r:k:c:s:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'l': o->labels_csv = optarg; break;
        case 'd': o->dir = optarg; break;
        case 't':
            if (!parse_input(o, optarg, true))
                return 2;
            break;
        case 'o': o->output = optarg; break;
        case 'r': o->report = optarg; break;
        case 'k': o->folds = atoi(optarg); break;
        case 'c':
            if (!config_load_yaml(&o->cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar-train: %s\n", err);
                return 2;
            }
            break;
        case 's':
            if (!config_set_assignment(&o->cfg, optarg, err, sizeof(err))) {
                fprintf(stderr, "nightjar-train: %s\n", err);
                return 2;
            }
            break;
        case 'q': o->quiet = true; break;
        case 'h': usage(stdout); exit(0);
        case O_UNLISTED: o->unlisted_benign = true; break;
        case O_BALANCE: o->bp.source_balance = true; break;
        case O_MINPK: o->min_packets = (uint32_t)atoi(optarg); break;
        case O_VERSION: o->version = optarg; break;
        case O_ROUNDS: o->bp.rounds = atoi(optarg); break;
        case O_DEPTH: o->bp.max_depth = atoi(optarg); break;
        case O_LR: o->bp.learning_rate = atof(optarg); break;
        case O_MCW: o->bp.min_child_weight = atof(optarg); break;
        case O_FPR: o->target_fpr = atof(optarg); break;
        case O_THRESH: o->threshold = atof(optarg); break;
        case O_LIST: list_features(); exit(0);
        case O_EVAL: o->evaluate = optarg; break;
        case O_LOFO: o->lofo = true; break;
        case O_LOFO_MODELS: o->lofo = true; o->lofo_models = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    for (int i = optind; i < argc; i++)
        if (!parse_input(o, argv[i], false))
            return 2;
    return 0;
}

static int check_args(const struct opts *o)
{
    const char *why = NULL;
    if (!o->n_in && !o->dir)
        why = "no sources: give captures or EVE logs, or --labels with --dir";
    else if (o->dir && !o->labels_csv)
        why = "--dir needs --labels (the CSV says which files to read)";
    else if (!o->evaluate && !o->output && !o->lofo)
        why = "no -o MODEL to write (or --evaluate MODEL to score with one, "
              "or --lofo to evaluate only)";
    else if (o->evaluate && o->lofo)
        why = "--lofo trains models; it does not go with --evaluate";
    else if (o->bp.rounds < 1 || o->bp.max_depth < 1 || o->bp.max_depth > 16 ||
             !(o->bp.learning_rate > 0 && o->bp.learning_rate <= 1))
        why = "--rounds >= 1, --max-depth 1..16, --learning-rate in (0, 1]";
    else if (!(o->target_fpr > 0 && o->target_fpr < 1))
        why = "--target-fpr must be in (0, 1)";
    else if (o->threshold != 0 && !(o->threshold > 0 && o->threshold < 1))
        why = "--threshold must be in (0, 1)";
    else if (o->folds < 0 || o->folds == 1 || o->folds > 100)
        why = "--folds is 0 (none) or 2..100";
    if (why)
        fprintf(stderr, "nightjar-train: %s (try --help)\n", why);
    return why ? 2 : 0;
}

/* ---- data ------------------------------------------------------------- */

static bool load_data(const struct opts *o, struct dataset *ds)
{
    char err[1024];
    struct labels csv = { 0 };
    if (o->labels_csv && !labels_load(&csv, o->labels_csv, err, sizeof(err))) {
        fprintf(stderr, "nightjar-train: %s\n", err);
        return false;
    }
    struct dataset_options dopt = { .cfg = &o->cfg,
                                    .unlisted_benign = o->unlisted_benign };
    bool ok = true;
    for (size_t i = 0; ok && o->dir && i < csv.n; i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", o->dir, csv.e[i].file);
        ok = dataset_add(ds, path, LABEL_UNKNOWN, &csv, false, &dopt, err,
                         sizeof(err));
    }
    for (int i = 0; ok && i < o->n_in; i++)
        ok = dataset_add(ds, o->in[i].path, o->in[i].label, &csv, o->in[i].test,
                         &dopt, err, sizeof(err));
    if (!ok)
        fprintf(stderr, "nightjar-train: %s\n", err);
    labels_free(&csv);
    return ok;
}

/* ---- training and scoring --------------------------------------------- */

static struct eta_model *train_model(const struct dataset *ds, const size_t *idx,
                                     size_t n, const struct opts *o,
                                     char **booster_out)
{
    char err[1024];
    char *booster = booster_train(ds->rows, idx, n, &o->bp, err, sizeof(err));
    if (!booster) {
        fprintf(stderr, "nightjar-train: %s\n", err);
        return NULL;
    }
    char *text = model_file_build(booster, "fold", 0.5, o->min_packets, NULL);
    struct eta_model *m = text ? eta_model_load_buffer(text, strlen(text),
                                                       "(training)", err,
                                                       sizeof(err))
                               : NULL;
    if (!m)
        fprintf(stderr, "nightjar-train: %s\n", text ? err : "out of memory");
    free(text);
    if (booster_out && m)
        *booster_out = booster;
    else
        free(booster);
    return m;
}

static void score_rows(const struct eta_model *m, const struct dataset *ds,
                       const size_t *idx, size_t n, double *score)
{
    for (size_t i = 0; i < n; i++)
        score[idx[i]] = eta_model_score(m, ds->rows[idx[i]].x, NULL);
}

/* Row indexes where want(source) holds. */
static size_t select_rows(const struct dataset *ds, const int *fold, int f,
                          bool equal, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) {
        int rf = fold[ds->rows[i].source];
        if (rf >= 0 && (rf == f) == equal)
            idx[n++] = i;
    }
    return n;
}

/* Out-of-fold scores of every training row over n_folds folds; false
 * when a fold could not be trained (it lacks a class). keys (or NULL)
 * names each fold's family; boosters (or NULL) keeps each fold's XGBoost
 * model, and then a fold is trained even when it holds out no rows. */
static bool cross_validate(const struct dataset *ds, const struct opts *o,
                           const int *fold, int n_folds,
                           char (*keys)[FAMILY_KEY_MAX], double *oof,
                           json_t *per_fold, char **boosters)
{
    size_t *train = malloc((ds->n + 1) * sizeof(size_t));
    size_t *hold = malloc((ds->n + 1) * sizeof(size_t));
    bool ok = train && hold;
    for (int f = 0; ok && f < n_folds; f++) {
        size_t nt = select_rows(ds, fold, f, false, train);
        size_t nh = select_rows(ds, fold, f, true, hold);
        if (nh || boosters) {
            struct eta_model *m = train_model(ds, train, nt, o,
                                              boosters ? &boosters[f] : NULL);
            if (!m) {
                ok = false;
                break;
            }
            score_rows(m, ds, hold, nh, oof);
            eta_model_free(m);
        }
        json_t *fj = json_object();
        json_object_set_new(fj, "fold", json_integer(f));
        if (keys)
            json_object_set_new(fj, "family", json_string(keys[f]));
        json_object_set_new(fj, "train_rows", json_integer((json_int_t)nt));
        json_object_set_new(fj, "held_out_rows", json_integer((json_int_t)nh));
        json_t *src = json_array();
        for (size_t s = 0; s < ds->n_sources; s++)
            if (fold[s] == f)
                json_array_append_new(src, json_string(ds->sources[s].name));
        json_object_set_new(fj, "held_out_sources", src);
        json_array_append_new(per_fold, fj);
    }
    free(train);
    free(hold);
    return ok;
}

/* ---- reporting -------------------------------------------------------- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *metrics_json(const struct metrics *m)
{
    json_t *j = json_object();
    json_object_set_new(j, "malicious_flows", json_integer((json_int_t)m->n_pos));
    json_object_set_new(j, "benign_flows", json_integer((json_int_t)m->n_neg));
    json_object_set_new(j, "roc_auc", num(m->auc));
    json_object_set_new(j, "threshold", num(m->threshold));
    json_object_set_new(j, "precision", num(m->precision));
    json_object_set_new(j, "recall", num(m->recall));
    json_object_set_new(j, "f1", num(m->f1));
    json_object_set_new(j, "false_positive_rate", num(m->fpr));
    json_object_set_new(j, "tpr_at_fpr_1e-3", num(m->tpr_at_fpr_1e3));
    json_object_set_new(j, "tpr_at_fpr_1e-4", num(m->tpr_at_fpr_1e4));
    json_object_set_new(j, "fpr_1e-3_resolvable", json_boolean(m->n_neg >= 1000));
    json_object_set_new(j, "fpr_1e-4_resolvable", json_boolean(m->n_neg >= 10000));
    json_t *cm = json_object();
    json_object_set_new(cm, "true_positive", json_integer((json_int_t)m->tp));
    json_object_set_new(cm, "false_positive", json_integer((json_int_t)m->fp));
    json_object_set_new(cm, "true_negative", json_integer((json_int_t)m->tn));
    json_object_set_new(cm, "false_negative", json_integer((json_int_t)m->fn));
    json_object_set_new(j, "confusion_matrix", cm);
    return j;
}

static void print_metrics(const char *what, const struct metrics *m)
{
    printf("%s: %zu malicious / %zu benign flows\n", what, m->n_pos, m->n_neg);
    printf("  ROC AUC %.4f; at threshold %.4f: precision %.4f recall %.4f "
           "F1 %.4f FPR %.5f\n", m->auc, m->threshold, m->precision, m->recall,
           m->f1, m->fpr);
    printf("  TPR at FPR 1e-3: %.4f%s; at 1e-4: %.4f%s\n", m->tpr_at_fpr_1e3,
           m->n_neg < 1000 ? " (fewer than 1,000 benign flows)" : "",
           m->tpr_at_fpr_1e4,
           m->n_neg < 10000 ? " (fewer than 10,000 benign flows)" : "");
    printf("  confusion: TP %llu FP %llu TN %llu FN %llu\n",
           (unsigned long long)m->tp, (unsigned long long)m->fp,
           (unsigned long long)m->tn, (unsigned long long)m->fn);
}

/* Metrics of the rows in idx with scores, and the ROC picture. */
static json_t *evaluate(const struct dataset *ds, const size_t *idx, size_t n,
                        const double *score, double threshold, const char *what,
                        const char *report, const char *png, bool quiet)
{
    double *s = malloc((n + 1) * sizeof(double));
    int8_t *l = malloc(n + 1);
    struct roc_point *pts = malloc((n + 2) * sizeof(*pts));
    if (!s || !l || !pts) {
        free(s);
        free(l);
        free(pts);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        s[i] = score[idx[i]];
        l[i] = ds->rows[idx[i]].label;
    }
    struct metrics m;
    metrics_compute(s, l, n, threshold, &m);
    if (!quiet)
        print_metrics(what, &m);
    if (report) {
        char path[2048], err[512], title[64];
        snprintf(path, sizeof(path), "%s/%s", report, png);
        snprintf(title, sizeof(title), "ROC %s", what);
        for (char *t = title; *t; t++)
            *t = (char)(*t >= 'a' && *t <= 'z' ? *t - 32 : *t);
        size_t k = metrics_roc(s, l, n, pts, n + 2);
        if (k && !roc_png_write(path, pts, k, m.auc, title, err, sizeof(err)))
            fprintf(stderr, "nightjar-train: %s\n", err);
    }
    free(s);
    free(l);
    free(pts);
    return metrics_json(&m);
}

/* Per source: how many of its flows of each class a score put over the
 * threshold, and the highest score of each class -- which captures the
 * model catches and which not. */
static json_t *per_source_json(const struct dataset *ds, const double *score,
                               double threshold)
{
    json_t *a = json_array();
    for (size_t s = 0; s < ds->n_sources; s++) {
        uint64_t flows[2] = { 0, 0 }, over[2] = { 0, 0 };
        double top[2] = { -1, -1 };
        for (size_t i = 0; i < ds->n; i++) {
            const struct row *r = &ds->rows[i];
            if (r->source != s || !isfinite(score[i]))
                continue;
            flows[r->label]++;
            over[r->label] += score[i] >= threshold;
            if (score[i] > top[r->label])
                top[r->label] = score[i];
        }
        if (!flows[0] && !flows[1])
            continue;
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(ds->sources[s].name));
        json_object_set_new(j, "malicious_flows", json_integer((json_int_t)flows[1]));
        json_object_set_new(j, "malicious_alerted", json_integer((json_int_t)over[1]));
        json_object_set_new(j, "benign_flows", json_integer((json_int_t)flows[0]));
        json_object_set_new(j, "benign_alerted", json_integer((json_int_t)over[0]));
        if (flows[1])
            json_object_set_new(j, "max_malicious_score", json_real(top[1]));
        if (flows[0])
            json_object_set_new(j, "max_benign_score", json_real(top[0]));
        json_array_append_new(a, j);
    }
    return a;
}

/* Captures rather than flows: how many infected captures have at least
 * one malicious flow over the threshold, how many benign flows alert. */
static json_t *capture_summary(const json_t *per_source, const char *what,
                               bool quiet)
{
    size_t i;
    json_t *s;
    long long mal = 0, caught = 0, clean = 0, noisy = 0;
    json_array_foreach(per_source, i, s) {
        json_int_t mf = json_integer_value(json_object_get(s, "malicious_flows"));
        json_int_t ma = json_integer_value(json_object_get(s, "malicious_alerted"));
        json_int_t bf = json_integer_value(json_object_get(s, "benign_flows"));
        json_int_t ba = json_integer_value(json_object_get(s, "benign_alerted"));
        mal += mf > 0;
        caught += ma > 0;
        clean += bf > 0;
        noisy += ba > 0;
    }
    if (!quiet)
        printf("  %s by capture: %lld of %lld captures with malicious flows have "
               "one alerting; %lld of %lld captures with benign flows have a "
               "false alert\n", what, caught, mal, noisy, clean);
    return json_pack("{s:I,s:I,s:I,s:I}", "with_malicious_flows", mal,
                     "detected", caught, "with_benign_flows", clean,
                     "with_false_alerts", noisy);
}

static json_t *dataset_json(const struct dataset *ds, const int *fold)
{
    json_t *a = json_array();
    for (size_t s = 0; s < ds->n_sources; s++) {
        const struct source_info *si = &ds->sources[s];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(si->name));
        json_object_set_new(j, "set", json_string(si->test ? "test" : "train"));
        if (fold && fold[s] >= 0)
            json_object_set_new(j, "fold", json_integer(fold[s]));
        json_object_set_new(j, "benign", json_integer((json_int_t)si->rows[0]));
        json_object_set_new(j, "malicious", json_integer((json_int_t)si->rows[1]));
        json_object_set_new(j, "unlabelled", json_integer((json_int_t)si->skipped));
        json_object_set_new(j, "too_small", json_integer((json_int_t)si->too_small));
        json_array_append_new(a, j);
    }
    return a;
}

static bool write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "nightjar-train: %s: %s\n", path, strerror(errno));
        return false;
    }
    fputs(text, fp);
    bool ok = !ferror(fp);
    if (fclose(fp) != 0 || !ok) {
        fprintf(stderr, "nightjar-train: %s: write error\n", path);
        return false;
    }
    return true;
}

/* Every scored flow: its k-fold, leave-one-family-out (lofo, or NULL) and
 * held-out test scores, one line each, the set saying which; with
 * evaluation, test holds --evaluate's scores of every source. */
static void write_scores(const char *report, const struct dataset *ds,
                         const double *cv, const double *lofo,
                         const double *test, bool evaluation)
{
    char path[2048];
    snprintf(path, sizeof(path), "%s/scores.csv", report);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fprintf(fp, "source,set,label,score\n");
    const struct { const double *s; const char *set; bool test; } sets[] = {
        { cv, "cross-validation", false },
        { lofo, "leave-one-family-out", false },
        { test, evaluation ? "evaluation" : "test", true },
    };
    for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++)
        for (size_t i = 0; sets[k].s && i < ds->n; i++) {
            const struct row *r = &ds->rows[i];
            if ((evaluation || ds->sources[r->source].test == sets[k].test) &&
                isfinite(sets[k].s[i]))
                fprintf(fp, "%s,%s,%s,%.6f\n", ds->sources[r->source].name,
                        sets[k].set, r->label ? "malicious" : "benign",
                        sets[k].s[i]);
        }
    fclose(fp);
}

/* ---- main ------------------------------------------------------------- */

struct run {
    struct opts *o;
    struct dataset ds;
    int *fold;             /* k-fold fold of each source */
    int *lofo_fold;        /* leave-one-family-out fold of each source */
    char (*family)[FAMILY_KEY_MAX]; /* lofo: each fold's family key */
    int n_families;
    double *cv, *lofo, *test; /* scores per row (NaN where not scored) */
    size_t *idx;
    json_t *report;
};

static size_t rows_where(const struct run *r, bool test, const double *score,
                         size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ds.n; i++)
        if (r->ds.sources[r->ds.rows[i].source].test == test &&
            (!score || isfinite(score[i])))
            idx[n++] = i;
    return n;
}

static void print_dataset(const struct dataset *ds)
{
    uint64_t b = 0, m = 0, sk = 0, small = 0;
    for (size_t s = 0; s < ds->n_sources; s++) {
        b += ds->sources[s].rows[0];
        m += ds->sources[s].rows[1];
        sk += ds->sources[s].skipped;
        small += ds->sources[s].too_small;
    }
    printf("data: %zu sources, %llu benign and %llu malicious flows; %llu "
           "flows left out as unlabelled, %llu below the minimum size\n",
           ds->n_sources, (unsigned long long)b, (unsigned long long)m,
           (unsigned long long)sk, (unsigned long long)small);
}

static int run_evaluate(struct run *r)
{
    char err[1024];
    struct eta_model *m = eta_model_load_file(r->o->evaluate, err, sizeof(err));
    if (!m) {
        fprintf(stderr, "nightjar-train: %s\n", err);
        return 1;
    }
    double threshold = r->o->threshold > 0 ? r->o->threshold
                                           : eta_model_threshold(m);
    for (size_t i = 0; i < r->ds.n; i++)
        r->idx[i] = i;
    score_rows(m, &r->ds, r->idx, r->ds.n, r->test);
    json_t *ev = evaluate(&r->ds, r->idx, r->ds.n, r->test, threshold,
                          "evaluation", r->o->report, "roc-test.png",
                          r->o->quiet);
    json_object_set_new(r->report, "model", json_string(eta_model_version(m)));
    json_object_set_new(r->report, "evaluation", ev);
    json_t *ps = per_source_json(&r->ds, r->test, threshold);
    json_object_set_new(r->report, "captures",
                        capture_summary(ps, "evaluation", r->o->quiet));
    json_object_set_new(r->report, "per_source", ps);
    eta_model_free(m);
    return 0;
}

/* The lowest out-of-fold score (of scores) that keeps the FPR at the
 * target, at least 0.5; or the fixed threshold. */
static double choose_threshold(struct run *r, const double *scores)
{
    if (r->o->threshold > 0)
        return r->o->threshold;
    size_t n = rows_where(r, false, scores, r->idx);
    if (!n)
        return 0.5;
    double *s = malloc(n * sizeof(double));
    int8_t *l = malloc(n);
    for (size_t i = 0; s && l && i < n; i++) {
        s[i] = scores[r->idx[i]];
        l[i] = r->ds.rows[r->idx[i]].label;
    }
    double t = s && l ? metrics_threshold_for_fpr(s, l, n, r->o->target_fpr) : 0.5;
    free(s);
    free(l);
    return t > 0.5 ? (t < 0.999999 ? t : 0.999999) : 0.5;
}

/* The model file's record of how it was made. held_out >= 0: the model of
 * that leave-one-family-out fold (fold: every source's fold); -1: the
 * model of every training source, with the run's cross-validation and
 * test figures. */
static json_t *training_record(const struct run *r, double threshold,
                               const int *fold, int held_out)
{
    const struct opts *o = r->o;
    json_t *t = json_object();
    json_object_set_new(t, "tool", json_string("nightjar-train " NIGHTJAR_VERSION));
    json_object_set_new(t, "xgboost", json_string(booster_version()));
    json_t *p = json_object();
    json_object_set_new(p, "rounds", json_integer(o->bp.rounds));
    json_object_set_new(p, "max_depth", json_integer(o->bp.max_depth));
    json_object_set_new(p, "learning_rate", json_real(o->bp.learning_rate));
    json_object_set_new(p, "min_child_weight", json_real(o->bp.min_child_weight));
    json_object_set_new(p, "class_weight", json_string("malicious rows weigh benign/malicious"));
    json_object_set_new(p, "unlisted_benign", json_boolean(o->unlisted_benign));
    json_object_set_new(p, "source_balance", json_boolean(o->bp.source_balance));
    json_object_set_new(t, "parameters", p);
    json_object_set_new(t, "threshold_rule",
                        json_string(o->threshold > 0 ? "fixed"
                                    : "lowest out-of-fold score with FPR <= "
                                      "target, at least 0.5"));
    json_object_set_new(t, "target_fpr", json_real(o->target_fpr));
    json_object_set_new(t, "threshold", json_real(threshold));
    if (held_out >= 0) {
        json_object_set_new(t, "held_out_family", json_string(r->family[held_out]));
        json_object_set_new(t, "held_out_fold", json_integer(held_out));
        json_object_set_new(t, "note", json_string(
            "a leave-one-family-out model: trained on every source whose fold "
            "is not held_out_fold, to evaluate the held-out family with"));
    }
    json_object_set_new(t, "sources", dataset_json(&r->ds, fold));
    if (held_out >= 0)
        return t;
    json_t *cv = json_object_get(r->report, "cross_validation");
    if (cv)
        json_object_set(t, "cross_validation", json_object_get(cv, "metrics"));
    json_t *test = json_object_get(r->report, "test");
    if (test)
        json_object_set(t, "test", test);
    return t;
}

/* Per family: its captures, their malicious flows, how many alerted at the
 * threshold, the highest score -- which families a model that never saw
 * them catches. */
static json_t *per_family(const struct run *r, double threshold,
                          char (*stems)[FAMILY_KEY_MAX])
{
    const struct dataset *ds = &r->ds;
    json_t *a = json_array();
    bool quiet = r->o->quiet;
    if (!quiet)
        printf("  leave-one-family-out by family (threshold %.4f):\n"
               "    %-32s %8s %9s %7s %6s %9s\n", threshold, "family",
               "captures", "C2 flows", "alerted", "caught", "max score");
    for (int f = 0; f < r->n_families; f++) {
        uint64_t flows[2] = { 0, 0 }, over[2] = { 0, 0 }, captures = 0;
        double top = -1;
        json_t *names = json_array();
        for (size_t s = 0; s < ds->n_sources; s++)
            if (r->lofo_fold[s] == f && ds->sources[s].label == LABEL_MALICIOUS) {
                captures++;
                json_array_append_new(names, json_string(ds->sources[s].name));
            }
        for (size_t i = 0; i < ds->n; i++) {
            const struct row *w = &ds->rows[i];
            if (r->lofo_fold[w->source] != f || !isfinite(r->lofo[i]) ||
                ds->sources[w->source].label != LABEL_MALICIOUS)
                continue;
            flows[w->label]++;
            over[w->label] += r->lofo[i] >= threshold;
            if (w->label == 1 && r->lofo[i] > top)
                top = r->lofo[i];
        }
        json_t *j = json_object();
        json_object_set_new(j, "family", json_string(r->family[f]));
        json_object_set_new(j, "fold", json_integer(f));
        json_object_set_new(j, "captures", names);
        json_object_set_new(j, "malicious_flows", json_integer((json_int_t)flows[1]));
        json_object_set_new(j, "malicious_alerted", json_integer((json_int_t)over[1]));
        json_object_set_new(j, "caught", flows[1] ? json_boolean(over[1] > 0)
                                                  : json_null());
        json_object_set_new(j, "max_malicious_score",
                            flows[1] ? json_real(top) : json_null());
        json_object_set_new(j, "other_flows", json_integer((json_int_t)flows[0]));
        json_object_set_new(j, "other_flows_alerted", json_integer((json_int_t)over[0]));
        if (stems) {
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s.json", r->o->lofo_models,
                     stems[f]);
            json_object_set_new(j, "model_file", json_string(path));
        }
        json_array_append_new(a, j);
        if (quiet)
            continue;
        if (flows[1])
            printf("    %-32s %8llu %9llu %7llu %6s %9.4f\n", r->family[f],
                   (unsigned long long)captures, (unsigned long long)flows[1],
                   (unsigned long long)over[1], over[1] ? "yes" : "no", top);
        else
            printf("    %-32s %8llu %9s %7s %6s %9s  (no C2 flow to score)\n",
                   r->family[f], (unsigned long long)captures, "0", "-", "-", "-");
    }
    return a;
}

/* DIR/<stem>.json for each fold's model; stems[f] gets the file name. */
static bool write_lofo_models(const struct run *r, double threshold,
                              char **boosters, char (*stems)[FAMILY_KEY_MAX])
{
    const char *dir = r->o->lofo_models;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nightjar-train: %s: %s\n", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    for (int f = 0; ok && f < r->n_families; f++) {
        char stem[FAMILY_KEY_MAX], version[FAMILY_KEY_MAX + 8];
        family_file_stem(r->family[f], stem, sizeof(stem) - 8);
        /* two keys with one stem ("a/b", "a b"): the later gets its fold */
        for (int g = 0; g < f; g++)
            if (!strcmp(stems[g], stem)) {
                size_t n = strlen(stem);
                snprintf(stem + n, sizeof(stem) - n, "-%d", f);
                break;
            }
        text_copy(stems[f], sizeof(stems[f]), stem, strlen(stem));
        snprintf(version, sizeof(version), "lofo-%s", stem);
        json_t *rec = training_record(r, threshold, r->lofo_fold, f);
        char *text = model_file_build(boosters[f], version, threshold,
                                      r->o->min_packets, rec);
        json_decref(rec);
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s.json", dir, stem);
        ok = text && write_text(path, text);
        free(text);
    }
    return ok;
}

/* Leave-one-family-out: folds by family, every fold scored by a model
 * trained without it; boosters (or NULL) keeps those models. */
static bool run_lofo(struct run *r, char ***boosters)
{
    char err[512];
    r->n_families = lofo_assign(&r->ds, r->lofo_fold, &r->family, err,
                                sizeof(err));
    if (r->n_families < 0) {
        fprintf(stderr, "nightjar-train: --lofo: %s\n", err);
        return false;
    }
    if (r->o->lofo_models) {
        *boosters = calloc((size_t)r->n_families, sizeof(char *));
        if (!*boosters) {
            fprintf(stderr, "nightjar-train: out of memory\n");
            return false;
        }
    }
    json_t *per_fold = json_array();
    if (!cross_validate(&r->ds, r->o, r->lofo_fold, r->n_families, r->family,
                        r->lofo, per_fold, *boosters)) {
        json_decref(per_fold);
        fprintf(stderr, "nightjar-train: leave-one-family-out needs both "
                "classes in every fold's training part\n");
        return false;
    }
    json_t *lofo = json_object();
    json_object_set_new(lofo, "families", json_integer(r->n_families));
    json_object_set_new(lofo, "benign_folds",
                        json_string("FNV-1a of the file name modulo the "
                                    "number of families"));
    json_object_set_new(lofo, "per_fold", per_fold);
    json_object_set_new(r->report, "leave_one_family_out", lofo);
    return true;
}

static void report_lofo(struct run *r, double threshold, char **boosters,
                        bool *ok)
{
    const struct opts *o = r->o;
    json_t *lofo = json_object_get(r->report, "leave_one_family_out");
    size_t n = rows_where(r, false, r->lofo, r->idx);
    json_object_set_new(lofo, "threshold", json_real(threshold));
    json_object_set_new(lofo, "threshold_from",
                        json_string(o->threshold > 0 ? "fixed"
                                    : o->folds >= 2 ? "k-fold cross-validation"
                                    : "leave-one-family-out scores"));
    json_object_set_new(lofo, "metrics",
                        evaluate(&r->ds, r->idx, n, r->lofo, threshold,
                                 "leave-one-family-out", o->report,
                                 "roc-lofo.png", o->quiet));
    json_t *ps = per_source_json(&r->ds, r->lofo, threshold);
    json_object_set_new(lofo, "captures",
                        capture_summary(ps, "leave-one-family-out", o->quiet));
    json_object_set_new(lofo, "per_source", ps);
    char (*stems)[FAMILY_KEY_MAX] = NULL;
    if (boosters) {
        stems = calloc((size_t)r->n_families, sizeof(*stems));
        *ok = stems && write_lofo_models(r, threshold, boosters, stems);
    }
    json_object_set_new(lofo, "per_family",
                        per_family(r, threshold, *ok ? stems : NULL));
    if (stems && *ok && !o->quiet)
        printf("leave-one-family-out models: %d in %s/\n", r->n_families,
               o->lofo_models);
    free(stems);
}

static int run_train(struct run *r)
{
    struct opts *o = r->o;
    char **boosters = NULL;
    int rc = 1;
    kfold_assign(&r->ds, o->folds, r->fold);
    if (o->folds >= 2) {
        json_t *per_fold = json_array();
        if (!cross_validate(&r->ds, o, r->fold, o->folds, NULL, r->cv,
                            per_fold, NULL)) {
            json_decref(per_fold);
            fprintf(stderr, "nightjar-train: cross-validation needs both "
                    "classes in every fold's training part: use fewer --folds "
                    "or more sources\n");
            return 1;
        }
        json_t *cv = json_object();
        json_object_set_new(cv, "folds", json_integer(o->folds));
        json_object_set_new(cv, "per_fold", per_fold);
        json_object_set_new(r->report, "cross_validation", cv);
    }
    if (o->lofo && !run_lofo(r, &boosters))
        goto out;
    double threshold = choose_threshold(r, o->folds >= 2 || !o->lofo ? r->cv
                                                                     : r->lofo);
    if (threshold >= 0.999999 && !o->quiet)
        fprintf(stderr, "nightjar-train: warning: no score keeps the "
                "out-of-fold false-positive rate at %g, so the model will "
                "hardly ever alert; give --target-fpr or --threshold\n",
                o->target_fpr);
    if (o->folds >= 2) {
        size_t n = rows_where(r, false, r->cv, r->idx);
        json_t *cv = json_object_get(r->report, "cross_validation");
        json_object_set_new(cv, "metrics",
                            evaluate(&r->ds, r->idx, n, r->cv, threshold,
                                     "cross-validation", o->report,
                                     "roc-cv.png", o->quiet));
        json_t *ps = per_source_json(&r->ds, r->cv, threshold);
        json_object_set_new(cv, "captures",
                            capture_summary(ps, "cross-validation", o->quiet));
        json_object_set_new(cv, "per_source", ps);
    }
    bool ok = true;
    if (o->lofo)
        report_lofo(r, threshold, boosters, &ok);
    json_object_set_new(r->report, "threshold", json_real(threshold));
    size_t ntest = rows_where(r, true, NULL, r->idx);
    if (!ok || (!o->output && !ntest)) {
        rc = ok ? 0 : 1;
        goto out;
    }
    size_t nt = rows_where(r, false, NULL, r->idx);
    char *booster = NULL;
    struct eta_model *m = train_model(&r->ds, r->idx, nt, o, &booster);
    if (!m)
        goto out;
    ntest = rows_where(r, true, NULL, r->idx);
    if (ntest) {
        score_rows(m, &r->ds, r->idx, ntest, r->test);
        json_object_set_new(r->report, "test",
                            evaluate(&r->ds, r->idx, ntest, r->test, threshold,
                                     "held-out test", o->report,
                                     "roc-test.png", o->quiet));
        json_t *ps = per_source_json(&r->ds, r->test, threshold);
        json_object_set_new(r->report, "test_captures",
                            capture_summary(ps, "held-out test", o->quiet));
        json_object_set_new(r->report, "test_per_source", ps);
    }
    eta_model_free(m);
    if (o->output) {
        json_t *rec = training_record(r, threshold, r->fold, -1);
        char *text = model_file_build(booster, o->version, threshold,
                                      o->min_packets, rec);
        json_decref(rec);
        ok = text && write_text(o->output, text);
        free(text);
        if (ok && !o->quiet)
            printf("model: %s (threshold %.4f)\n", o->output, threshold);
    }
    free(booster);
    rc = ok ? 0 : 1;
out:
    for (int f = 0; boosters && f < r->n_families; f++)
        free(boosters[f]);
    free(boosters);
    return rc;
}

static bool write_report(const struct run *r)
{
    if (!r->o->report)
        return true;
    json_t *sources = dataset_json(&r->ds, r->fold);
    for (size_t s = 0; r->family && s < r->ds.n_sources; s++) {
        json_t *j = json_array_get(sources, s);
        int f = r->lofo_fold[s];
        if (f >= 0 && r->ds.sources[s].label == LABEL_MALICIOUS)
            json_object_set_new(j, "family", json_string(r->family[f]));
        if (f >= 0)
            json_object_set_new(j, "lofo_fold", json_integer(f));
    }
    json_object_set_new(r->report, "sources", sources);
    char path[2048];
    snprintf(path, sizeof(path), "%s/metrics.json", r->o->report);
    char *text = json_dumps(r->report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    bool ok = text && write_text(path, text);
    free(text);
    write_scores(r->o->report, &r->ds, r->cv, r->family ? r->lofo : NULL,
                 r->test, r->o->evaluate != NULL);
    return ok;
}

int main(int argc, char **argv)
{
    static struct opts o;
    config_defaults(&o.cfg);
    /* the features need no YARA: reading captures goes faster without it */
    snprintf(o.cfg.content.yara_path, sizeof(o.cfg.content.yara_path), "none");
    o.folds = 5;
    o.target_fpr = 1e-3;
    o.min_packets = 4;
    o.bp = (struct booster_params){ .rounds = 200, .max_depth = 4,
                                    .learning_rate = 0.1,
                                    .min_child_weight = 1, .seed = 0 };
    int rc = parse_args(argc, argv, &o);
    if (rc || (rc = check_args(&o)))
        return rc;
    o.cfg.eta.min_packets = o.min_packets;
    if (o.report && mkdir(o.report, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "nightjar-train: %s: %s\n", o.report, strerror(errno));
        return 1;
    }
    struct run r = { .o = &o, .report = json_object() };
    if (!load_data(&o, &r.ds)) {
        dataset_free(&r.ds);
        json_decref(r.report);
        return 1;
    }
    size_t n = r.ds.n + 1;
    r.fold = malloc((r.ds.n_sources + 1) * sizeof(int));
    r.lofo_fold = malloc((r.ds.n_sources + 1) * sizeof(int));
    r.cv = malloc(n * sizeof(double));
    r.lofo = malloc(n * sizeof(double));
    r.test = malloc(n * sizeof(double));
    r.idx = malloc(n * sizeof(size_t));
    if (!r.fold || !r.lofo_fold || !r.cv || !r.lofo || !r.test || !r.idx) {
        fprintf(stderr, "nightjar-train: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        r.cv[i] = r.lofo[i] = r.test[i] = NAN;
    for (size_t s = 0; s < r.ds.n_sources; s++)
        r.fold[s] = r.lofo_fold[s] = -1;
    if (!o.quiet)
        print_dataset(&r.ds);
    rc = o.evaluate ? run_evaluate(&r) : run_train(&r);
    if (!rc && !write_report(&r))
        rc = 1;
    json_decref(r.report);
    dataset_free(&r.ds);
    free(r.fold);
    free(r.lofo_fold);
    free(r.family);
    free(r.lofo);
    free(r.cv);
    free(r.test);
    free(r.idx);
    return rc;
}
